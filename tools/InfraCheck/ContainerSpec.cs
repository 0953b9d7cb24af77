namespace OrleansGateway.InfraCheck;

/// <summary>
/// Prints what a Deployment's first container is started with, one line each: "arg VALUE", "env NAME VALUE" for a
/// literal value, "env NAME field:PATH" for a downward-API value. Template actions stay as written.
/// </summary>
internal static class ContainerSpec
{
    public static int Print(string file, string deployment, TextWriter output, TextWriter error)
    {
        var problems = new List<string>();
        var documents = File.Exists(file) ? Yaml.Documents(File.ReadAllText(file), file, problems) : [];
        var workload = documents.FirstOrDefault(d => d.Str("kind") == "Deployment" && d.Map("metadata").Str("name") == deployment);
        var container = workload.Map("spec").Map("template").Map("spec").Seq("containers").FirstOrDefault();
        if (container is null)
        {
            problems.Add($"{file}: no Deployment {deployment} with a container");
        }

        foreach (var problem in problems)
        {
            error.WriteLine($"infra-check: {problem}");
        }

        if (problems.Count > 0)
        {
            return 1;
        }

        foreach (var arg in container.Strings("args"))
        {
            output.WriteLine($"arg {arg}");
        }

        foreach (var env in container.Seq("env"))
        {
            var value = env.Str("value") ?? (env.Map("valueFrom").Map("fieldRef").Str("fieldPath") is { } field ? "field:" + field : "");
            output.WriteLine($"env {env.Str("name")} {value}");
        }

        return 0;
    }
}
