using MimeKit;

namespace Newsletter.Delivery;

/// <summary>Where mail goes: an SMTP relay or a pickup folder. Each sender is one connection, used by one worker.</summary>
public interface IMailTransport
{
    /// <summary>How many senders work at once.</summary>
    int MaxSenders { get; }

    /// <summary>A human-readable destination for log lines.</summary>
    string Describe();

    Task<IMailSender> ConnectAsync(CancellationToken cancellationToken);
}

public interface IMailSender : IAsyncDisposable
{
    /// <summary>Returns when the destination has accepted the message; throws <see cref="DeliveryException"/> otherwise.</summary>
    Task SendAsync(MimeMessage message, CancellationToken cancellationToken);

    /// <summary>False once the connection broke; the worker then connects afresh.</summary>
    bool IsUsable { get; }
}

public enum FailureKind
{
    /// <summary>Try this message again later (4xx, network trouble).</summary>
    Transient,

    /// <summary>This recipient is refused for good (5xx to RCPT with an addressing status, RFC 3463 5.1.x).</summary>
    Permanent,

    /// <summary>
    /// This message is refused (5xx after DATA, or a content/policy status 5.6.x/5.7.x at any
    /// stage): nothing is known against the reader, so it is deferred and the reader untouched.
    /// </summary>
    MessageRefused,

    /// <summary>Nothing can be sent in this run (authentication refused, relay unreachable, sender refused).</summary>
    RunLevel,
}

public sealed class DeliveryException(FailureKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public FailureKind Kind { get; } = kind;
}
