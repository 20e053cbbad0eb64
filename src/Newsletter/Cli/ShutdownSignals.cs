using System.Runtime.InteropServices;

namespace Newsletter.Cli;

/// <summary>
/// SIGTERM and SIGINT for a verb that does not run the host (<c>send-now</c>): instead of dying
/// with its claims held, the process stops the application, which stops the delivery run
/// gracefully (see <c>Delivery:ShutdownTimeout</c>). The service verb gets the same from the
/// host's console lifetime.
/// </summary>
internal sealed class ShutdownSignals : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;
    private int _signal;

    public ShutdownSignals(IHostApplicationLifetime lifetime)
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Stop(context, 15, lifetime)),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Stop(context, 2, lifetime)),
        ];
    }

    /// <summary>The signal that arrived first (15 SIGTERM, 2 SIGINT), or 0.</summary>
    public int Signal => Volatile.Read(ref _signal);

    /// <summary>The signal's name, for the closing line.</summary>
    public string SignalName => Signal == 2 ? "SIGINT" : "SIGTERM";

    /// <summary>The conventional exit code of a process stopped by the signal (128 + its number).</summary>
    public int ExitCode => 128 + Signal;

    private void Stop(PosixSignalContext context, int signal, IHostApplicationLifetime lifetime)
    {
        // Keep the process alive: the run stops itself and says what is left.
        context.Cancel = true;
        Interlocked.CompareExchange(ref _signal, signal, 0);
        lifetime.StopApplication();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
            registration.Dispose();
    }
}
