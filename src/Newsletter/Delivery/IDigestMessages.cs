using MimeKit;

namespace Newsletter.Delivery;

/// <summary>
/// What a claimed delivery sends. Delivery claims, sends and records outcomes; what a message holds
/// (a reader's rendered digest) is built above it, by Orchestration, so Delivery needs to know
/// nothing of issues, readers or templates.
/// </summary>
public interface IDigestMessages
{
    /// <summary>The builder for one run; it may keep what the run's deliveries share (a digest loaded and prepared once).</summary>
    IRunMessages ForRun();
}

/// <summary>Builds the messages of one run; called by every worker at once.</summary>
public interface IRunMessages
{
    /// <summary>
    /// The message for <paramref name="delivery"/>, carrying its Message-ID. Throws
    /// <see cref="MessageUnavailableException"/> when no message can be made (a broken template):
    /// that stops the run with nothing sent in its name.
    /// </summary>
    Task<MimeMessage> BuildAsync(ClaimedDelivery delivery, CancellationToken cancellationToken);
}

/// <summary>No message can be built for any delivery of the run (e.g. its template does not render).</summary>
public sealed class MessageUnavailableException(string message, Exception inner) : Exception(message, inner);
