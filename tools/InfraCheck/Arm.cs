using System.Text;
using System.Text.Json;

namespace OrleansGateway.InfraCheck;

/// <summary>
/// What the compiled template (the JSON `bicep build` prints) tells: its outputs, and the subject of the federated
/// credential, evaluated through module parameters and variables. Only literal names can be checked offline, so
/// the evaluator knows string literals, parameters(), variables() and format(); anything else is "not literal".
/// </summary>
internal sealed class Arm
{
    private const string FederatedCredentialType = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";

    private Arm(JsonElement template, Arm? outer, JsonElement? parameterValues)
    {
        Template = template;
        Outer = outer;
        ParameterValues = parameterValues;
    }

    private JsonElement Template { get; }

    private Arm? Outer { get; }

    /// <summary>For a module: the parameter values its deployment passes, expressions of <see cref="Outer"/>.</summary>
    private JsonElement? ParameterValues { get; }

    public static IReadOnlySet<string> Outputs(JsonDocument compiled) =>
        compiled.RootElement.TryGetProperty("outputs", out var outputs)
            ? outputs.EnumerateObject().Select(o => o.Name).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>();

    /// <summary>Each federated credential's subject, or the reason it cannot be evaluated offline.</summary>
    public static List<(string? Subject, string? Problem)> FederatedSubjects(JsonDocument compiled)
    {
        var found = new List<(string?, string?)>();
        Walk(new Arm(compiled.RootElement, null, null), found);
        return found;
    }

    private static void Walk(Arm scope, List<(string?, string?)> found)
    {
        if (!scope.Template.TryGetProperty("resources", out var resources))
        {
            return;
        }

        // Bicep writes resources as an array, or as an object keyed by symbolic name (language version 2.0).
        var list = resources.ValueKind == JsonValueKind.Object ? resources.EnumerateObject().Select(p => p.Value) : resources.EnumerateArray();
        foreach (var resource in list)
        {
            var type = resource.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type == FederatedCredentialType && resource.TryGetProperty("properties", out var properties)
                && properties.TryGetProperty("subject", out var subject))
            {
                try
                {
                    found.Add((scope.Evaluate(subject.GetString() ?? ""), null));
                }
                catch (FormatException e)
                {
                    found.Add((null, $"the federated credential's subject {subject.GetString()} is not literal: {e.Message}"));
                }
            }
            else if (type == "Microsoft.Resources/deployments" && resource.TryGetProperty("properties", out var deployment)
                && deployment.TryGetProperty("template", out var inner))
            {
                var values = deployment.TryGetProperty("parameters", out var p) ? p : (JsonElement?)null;
                Walk(new Arm(inner, scope, values), found);
            }
        }
    }

    private string Evaluate(string text)
    {
        if (!text.StartsWith('[') || !text.EndsWith(']') || text.StartsWith("[["))
        {
            return text;
        }

        var parser = new Parser(text[1..^1], this);
        var value = parser.Expression();
        parser.End();
        return value;
    }

    private string Parameter(string name)
    {
        if (ParameterValues is { } values && values.TryGetProperty(name, out var passed) && passed.TryGetProperty("value", out var value))
        {
            return value.ValueKind == JsonValueKind.String ? Outer!.Evaluate(value.GetString()!) : throw new FormatException($"parameter '{name}' is not a string");
        }

        if (Template.TryGetProperty("parameters", out var declared) && declared.TryGetProperty(name, out var declaration)
            && declaration.TryGetProperty("defaultValue", out var fallback) && fallback.ValueKind == JsonValueKind.String)
        {
            return Evaluate(fallback.GetString()!);
        }

        throw new FormatException($"parameter '{name}' has no literal value here");
    }

    private string Variable(string name) =>
        Template.TryGetProperty("variables", out var variables) && variables.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? Evaluate(value.GetString()!)
            : throw new FormatException($"variable '{name}' is not a string");

    private sealed class Parser(string text, Arm scope)
    {
        private int _at;

        public string Expression()
        {
            Skip();
            if (_at < text.Length && text[_at] == '\'')
            {
                return Literal();
            }

            var start = _at;
            while (_at < text.Length && char.IsLetterOrDigit(text[_at]))
            {
                _at++;
            }

            var name = text[start.._at];
            Expect('(');
            var arguments = new List<string>();
            Skip();
            if (Peek() != ')')
            {
                do
                {
                    arguments.Add(Expression());
                    Skip();
                }
                while (TryTake(','));
            }

            Expect(')');
            return name switch
            {
                "parameters" when arguments.Count == 1 => scope.Parameter(arguments[0]),
                "variables" when arguments.Count == 1 => scope.Variable(arguments[0]),
                "format" when arguments.Count >= 1 => string.Format(System.Globalization.CultureInfo.InvariantCulture, arguments[0], arguments.Skip(1).ToArray<object>()),
                _ => throw new FormatException($"{name}() cannot be evaluated offline"),
            };
        }

        public void End()
        {
            Skip();
            if (_at != text.Length)
            {
                throw new FormatException($"unexpected '{text[_at..]}'");
            }
        }

        private string Literal()
        {
            var value = new StringBuilder();
            _at++;
            while (_at < text.Length)
            {
                if (text[_at] == '\'')
                {
                    if (_at + 1 < text.Length && text[_at + 1] == '\'')
                    {
                        value.Append('\'');
                        _at += 2;
                        continue;
                    }

                    _at++;
                    return value.ToString();
                }

                value.Append(text[_at++]);
            }

            throw new FormatException("an unterminated string");
        }

        private char Peek() => _at < text.Length ? text[_at] : '\0';

        private bool TryTake(char c)
        {
            Skip();
            if (Peek() != c)
            {
                return false;
            }

            _at++;
            return true;
        }

        private void Expect(char c)
        {
            if (!TryTake(c))
            {
                throw new FormatException($"'{c}' expected at {_at}");
            }
        }

        private void Skip()
        {
            while (_at < text.Length && text[_at] == ' ')
            {
                _at++;
            }
        }
    }
}
