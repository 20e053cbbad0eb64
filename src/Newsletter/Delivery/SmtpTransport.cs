using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Newsletter.Delivery;

/// <summary>
/// An SMTP relay through MailKit: each sender is one long-lived connection that sends many
/// messages. Sockets are connected here with Nagle off: MailKit's own connect leaves it on, and a
/// message over ~2 KB then waits for a delayed ACK (~23 msg/s instead of thousands).
/// </summary>
public sealed class SmtpTransport(SmtpOptions options, ILogger<SmtpTransport> logger) : IMailTransport
{
    public int MaxSenders => options.MaxConnections;

    public string Describe() => $"SMTP relay {options.Host}:{options.Port} ({options.Security})";

    public async Task<IMailSender> ConnectAsync(CancellationToken cancellationToken)
    {
        var client = new SmtpClient { Timeout = (int)options.Timeout.TotalMilliseconds };
        // Past the TCP connect the relay was reached: what fails after it is not "unreachable".
        var reached = false;
        try
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                connectTimeout.CancelAfter(options.Timeout);
                await socket.ConnectAsync(options.Host!, options.Port, connectTimeout.Token);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            reached = true;
            await client.ConnectAsync(socket, options.Host!, options.Port, SecureOptions(), cancellationToken);
            if (!string.IsNullOrEmpty(options.Username) && !client.Capabilities.HasFlag(SmtpCapabilities.Authentication))
            {
                // MailKit would say "The SMTP server does not support authentication", which read as unreachable.
                var hint = !client.IsSecure && client.Capabilities.HasFlag(SmtpCapabilities.StartTLS)
                    ? "; it offers STARTTLS, and many relays offer AUTH only after it: set Smtp:Security to StartTls"
                    : "";
                throw new DeliveryException(FailureKind.RunLevel,
                    $"the relay {options.Host}:{options.Port} was reached but offers no authentication (AUTH) while Smtp:Username is set{hint}; leave Smtp:Username empty if it takes mail without");
            }
            if (!string.IsNullOrEmpty(options.Username))
                await client.AuthenticateAsync(options.Username, options.Password ?? "", cancellationToken);
            return new Sender(client, logger);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            throw exception switch
            {
                DeliveryException known => known,
                AuthenticationException => new DeliveryException(FailureKind.RunLevel, $"the relay refused authentication as {options.Username}: {exception.Message}", exception),
                SslHandshakeException => new DeliveryException(FailureKind.RunLevel, $"TLS handshake with {options.Host}:{options.Port} failed: {exception.Message}", exception),
                OperationCanceledException => new DeliveryException(FailureKind.RunLevel, $"the relay {options.Host}:{options.Port} did not answer within {options.Timeout.TotalSeconds:0} s", exception),
                // MailKit says "does not support the STARTTLS extension" when Security is StartTls and the relay does not offer it.
                NotSupportedException when reached && options.Security == SmtpSecurity.StartTls =>
                    new DeliveryException(FailureKind.RunLevel, $"the relay {options.Host}:{options.Port} was reached but does not offer STARTTLS, which Smtp:Security=StartTls requires"
                        + " (use SslOnConnect for a relay that expects TLS from the start, usually port 465; None only on a network you trust)", exception),
                _ when reached => new DeliveryException(FailureKind.RunLevel, $"the relay {options.Host}:{options.Port} was reached but the SMTP session failed: {exception.Message}", exception),
                _ => new DeliveryException(FailureKind.RunLevel, $"the relay {options.Host}:{options.Port} is unreachable: {exception.Message}", exception),
            };
        }
    }

    private SecureSocketOptions SecureOptions() => options.Security switch
    {
        SmtpSecurity.None => SecureSocketOptions.None,
        SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
        SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
        _ => SecureSocketOptions.Auto,
    };

    private sealed class Sender(SmtpClient client, ILogger logger) : IMailSender
    {
        public bool IsUsable => client.IsConnected;

        public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                // A VERP return path (Envelope) goes in MAIL FROM; otherwise MailKit uses From.
                if (Envelope.ReturnPath(message) is { } returnPath)
                    await client.SendAsync(message, returnPath, message.To.Mailboxes, cancellationToken);
                else
                    await client.SendAsync(message, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                throw Classify(exception);
            }
            finally
            {
                // Refused ones too: the relay's answer took that long either way.
                Telemetry.NewsletterTelemetry.SmtpSendTime.Record(Telemetry.NewsletterTelemetry.Seconds(started));
            }
        }

        /// <summary>Retry or give up, decided from the SMTP reply (MailKit reports which command failed).</summary>
        private static DeliveryException Classify(Exception exception) => exception switch
        {
            SmtpCommandException { ErrorCode: SmtpErrorCode.SenderNotAccepted } command when (int)command.StatusCode >= 500 =>
                new DeliveryException(FailureKind.RunLevel, $"the relay refused the sender address: {Reply(command)}", exception),
            SmtpCommandException { ErrorCode: SmtpErrorCode.RecipientNotAccepted or SmtpErrorCode.MessageNotAccepted } command when (int)command.StatusCode >= 500 =>
                new DeliveryException(SmtpRefusal.Classify(
                    command.ErrorCode == SmtpErrorCode.RecipientNotAccepted ? SmtpStage.Recipient : SmtpStage.Data,
                    (int)command.StatusCode, command.Message), Reply(command), exception),
            SmtpCommandException { StatusCode: SmtpStatusCode.AuthenticationRequired or SmtpStatusCode.AuthenticationChallenge } command =>
                new DeliveryException(FailureKind.RunLevel, $"the relay requires authentication: {Reply(command)}", exception),
            SmtpCommandException command => new DeliveryException(FailureKind.Transient, Reply(command), exception),
            AuthenticationException => new DeliveryException(FailureKind.RunLevel, $"authentication failed: {exception.Message}", exception),
            _ => new DeliveryException(FailureKind.Transient, $"{exception.GetType().Name}: {exception.Message}", exception),
        };

        private static string Reply(SmtpCommandException command) => $"{(int)command.StatusCode} {command.Message}";

        public async ValueTask DisposeAsync()
        {
            try
            {
                // A stuck relay must not hold up a shutdown for a whole Smtp:Timeout over a QUIT.
                using var quitTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                if (client.IsConnected)
                    await client.DisconnectAsync(quit: true, quitTimeout.Token);
            }
            catch (Exception exception) when (exception is IOException or SmtpProtocolException or SmtpCommandException or ServiceNotConnectedException or OperationCanceledException)
            {
                logger.LogDebug("Closing an SMTP connection failed: {Reason}", exception.Message);
            }
            client.Dispose();
        }
    }
}
