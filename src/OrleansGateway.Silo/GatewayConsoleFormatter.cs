using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using OrleansGateway.Model.Diagnostics;

namespace OrleansGateway.Silo;

/// <summary>
/// The gateway's console lines, one per entry, as the simple formatter's single-line mode prints them
/// (<c>2026-11-26T16:00:00.000Z info: Category[event] message</c>), with every character that could end the line or
/// control a terminal escaped (<see cref="LogText.Escape"/>): messages carry tenants' names and values and clients' SNI,
/// and a console formatter otherwise prints them raw (docs/data-plane.md, "What tenants and clients put in logs").
/// </summary>
internal sealed class GatewayConsoleFormatter : ConsoleFormatter, IDisposable
{
    public const string FormatterName = "ogw";

    private readonly TimeProvider _time;
    private readonly IDisposable? _reload;
    private ConsoleFormatterOptions _options;

    public GatewayConsoleFormatter(IOptionsMonitor<ConsoleFormatterOptions> options, TimeProvider time)
        : base(FormatterName)
    {
        _time = time;
        _options = options.CurrentValue;
        _reload = options.OnChange(o => _options = o);
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (string.IsNullOrEmpty(message) && logEntry.Exception is null)
        {
            return;
        }

        var options = _options;
        if (options.TimestampFormat is { } format)
        {
            var now = _time.GetUtcNow();
            textWriter.Write((options.UseUtcTimestamp ? now : now.ToLocalTime()).ToString(format, System.Globalization.CultureInfo.InvariantCulture));
        }

        textWriter.Write(Level(logEntry.LogLevel));
        textWriter.Write(": ");
        textWriter.Write(logEntry.Category);
        textWriter.Write('[');
        textWriter.Write(logEntry.EventId.Id);
        textWriter.Write("] ");
        textWriter.Write(LogText.Escape(message ?? ""));
        if (logEntry.Exception is { } exception)
        {
            // The stack trace stays on this line too ("\n" between its frames), so one entry is one line.
            textWriter.Write(' ');
            textWriter.Write(LogText.Escape(exception.ToString()));
        }

        textWriter.Write(Environment.NewLine);
    }

    public void Dispose() => _reload?.Dispose();

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}
