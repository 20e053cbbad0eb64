namespace Newsletter.Storage;

/// <summary>
/// Wraps the host's logger factory so that a log entry carrying an unreachable-database exception,
/// from any category (Quartz's job store and cluster manager, a job, a worker), becomes part of the
/// one outage report of <see cref="StorageOutage"/> instead of a stack trace of its own. Every other
/// entry passes through untouched.
/// </summary>
internal static class OutageLogging
{
    public static void Install(IServiceCollection services)
    {
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(ILoggerFactory) && !d.IsKeyedService);
        if (registered is null || registered.ImplementationType != typeof(LoggerFactory))
            return; // someone else's factory: leave it alone
        services.Remove(registered);
        services.AddSingleton<ILoggerFactory>(provider => new Factory(
            new LoggerFactory(
                provider.GetServices<ILoggerProvider>(),
                provider.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<LoggerFilterOptions>>(),
                provider.GetService<Microsoft.Extensions.Options.IOptions<LoggerFactoryOptions>>(),
                provider.GetService<IExternalScopeProvider>()),
            provider));
    }

    private sealed class Factory(LoggerFactory inner, IServiceProvider services) : ILoggerFactory
    {
        private StorageOutage? _outage;

        public ILogger CreateLogger(string categoryName) => new Logger(inner.CreateLogger(categoryName), this);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose() => inner.Dispose();

        /// <summary>Resolved on first use: the outage logs through this very factory.</summary>
        public bool Absorb(Exception exception)
        {
            if (!StorageFaults.IsUnreachable(exception))
                return false;
            try
            {
                _outage ??= services.GetRequiredService<StorageOutage>();
                return _outage.Absorb(exception);
            }
            catch (ObjectDisposedException)
            {
                return false; // the host is shutting down: log it as it is
            }
        }
    }

    private sealed class Logger(ILogger inner, Factory factory) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is not null && factory.Absorb(exception))
                return;
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
