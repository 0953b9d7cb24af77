using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OrleansGateway.Proxy.Tests.Infrastructure;

/// <summary>Keeps every log line (category and formatted message) in memory.</summary>
internal sealed class ListLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new ListLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    public IEnumerable<string> Category(string category) => Lines.Where(l => l.Category == category).Select(l => l.Message);

    private sealed class ListLogger(ListLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner.Lines.Enqueue((category, logLevel, formatter(state, exception)));
    }
}
