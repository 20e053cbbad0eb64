using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using MimeKit;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Newsletter.Tests.Support;

/// <summary>How a <see cref="SmtpSink"/> misbehaves, for fault injection.</summary>
public sealed record SinkFaults
{
    /// <summary>Answer RCPT for an address with this response (null: accept).</summary>
    public Func<string, SmtpResponse?>? Recipient { get; init; }

    /// <summary>Answer MAIL FROM with this response (null: accept).</summary>
    public SmtpResponse? Sender { get; init; }

    /// <summary>After receiving this message, close the connection without replying.</summary>
    public Func<MimeMessage, bool>? DropAfterData { get; init; }

    /// <summary>Require AUTH and accept only this user name / password.</summary>
    public (string User, string Password)? Credentials { get; init; }

    /// <summary>Answer the end of DATA for a message with this response (null: 250).</summary>
    public Func<MimeMessage, SmtpResponse?>? AfterData { get; init; }

    /// <summary>Wait this long before answering each message.</summary>
    public TimeSpan DelayPerMessage { get; init; }
}

/// <summary>A real SMTP server (the SmtpServer package) on a free 127.0.0.1 port that keeps what it receives.</summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    public SmtpSink(Func<string, SmtpResponse?>? recipientPolicy = null) : this(new SinkFaults { Recipient = recipientPolicy }) { }

    public SmtpSink(SinkFaults faults)
    {
        Port = FreePort();
        var options = new SmtpServerOptionsBuilder()
            .ServerName("sink.test")
            .Endpoint(endpoint =>
            {
                endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, Port));
                if (faults.Credentials is not null)
                    endpoint.AllowUnsecureAuthentication(true).AuthenticationRequired(true);
            })
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(Messages, Raw, Envelopes, faults));
        services.Add(new Filter(faults));
        if (faults.Credentials is { } credentials)
            services.Add(new Authenticator(credentials.User, credentials.Password));
        services.Add(new NoDelayListenerFactory());
        _running = new SmtpServer.SmtpServer(options, services).StartAsync(_stop.Token);
        if (!WaitUntilListening(Port))
            throw new InvalidOperationException($"SMTP sink did not start on port {Port}");
    }

    public int Port { get; }

    public ConcurrentQueue<MimeMessage> Messages { get; } = new();

    /// <summary>The envelope sender (MAIL FROM) of each accepted message, beside <see cref="Messages"/>.</summary>
    public ConcurrentQueue<(string ReturnPath, MimeMessage Message)> Envelopes { get; } = new();

    /// <summary>Each accepted message exactly as it came over the wire (after DATA's dot-unstuffing).</summary>
    public ConcurrentQueue<byte[]> Raw { get; } = new();

    public IReadOnlyList<MimeMessage> To(string address) =>
        Messages.Where(m => m.To.Mailboxes.Any(b => string.Equals(b.Address, address, StringComparison.OrdinalIgnoreCase))).ToList();

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits (up to 2 s) until something accepts connections on the 127.0.0.1 port.</summary>
    public static bool WaitUntilListening(int port)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                Thread.Sleep(20);
            }
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _running; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }

    private sealed class Store(ConcurrentQueue<MimeMessage> messages, ConcurrentQueue<byte[]> raw, ConcurrentQueue<(string, MimeMessage)> envelopes, SinkFaults faults) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            await using var stream = new MemoryStream(buffer.ToArray());
            var message = await MimeMessage.LoadAsync(stream, cancellationToken);
            if (faults.AfterData?.Invoke(message) is { } refusal)
                return refusal;
            raw.Enqueue(buffer.ToArray());
            messages.Enqueue(message);
            envelopes.Enqueue((transaction.From.AsAddress(), message));
            if (faults.DelayPerMessage > TimeSpan.Zero)
                await Task.Delay(faults.DelayPerMessage, cancellationToken);
            if (faults.DropAfterData?.Invoke(message) == true)
            {
                // The message arrived, but the client never hears so: it must resend it.
                await context.Pipe.Input.CompleteAsync();
                await context.Pipe.Output.CompleteAsync();
                context.Pipe.Dispose();
                throw new OperationCanceledException("connection dropped after DATA");
            }
            return SmtpResponse.Ok;
        }
    }

    /// <summary>Answers MAIL FROM and RCPT as <see cref="SinkFaults"/> says.</summary>
    private sealed class Filter(SinkFaults faults) : MailboxFilter
    {
        public override Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken) =>
            faults.Sender is { } refusal ? throw new SmtpResponseException(refusal) : Task.FromResult(true);

        public override Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken token)
        {
            var response = faults.Recipient?.Invoke(to.AsAddress());
            if (response is not null)
                throw new SmtpResponseException(response);
            return Task.FromResult(true);
        }
    }

    private sealed class Authenticator(string user, string password) : SmtpServer.Authentication.UserAuthenticator
    {
        public override Task<bool> AuthenticateAsync(ISessionContext context, string userName, string pass, CancellationToken cancellationToken) =>
            Task.FromResult(userName == user && pass == password);
    }
}

/// <summary>
/// Accepts connections with Nagle off: the package's own listener
/// leaves it on, and its multi-segment replies then wait for the client's delayed ACK, ~40 ms per
/// message, which made every test server a slow one.
/// </summary>
internal sealed class NoDelayListenerFactory : SmtpServer.Net.IEndpointListenerFactory
{
    public SmtpServer.Net.IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
    {
        var listener = new TcpListener(endpointDefinition.Endpoint);
        listener.Start();
        return new Listener(listener);
    }

    private sealed class Listener(TcpListener listener) : SmtpServer.Net.IEndpointListener
    {
        public async Task<SmtpServer.IO.ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
        {
            var client = await listener.AcceptTcpClientAsync(cancellationToken);
            client.NoDelay = true;
            context.Properties[SmtpServer.Net.EndpointListener.LocalEndPointKey] = client.Client.LocalEndPoint;
            context.Properties[SmtpServer.Net.EndpointListener.RemoteEndPointKey] = client.Client.RemoteEndPoint;
            return new Pipe(client);
        }

        public void Dispose() => listener.Stop();
    }

    /// <summary>A plain-text pipe over the socket (the tests' sinks never offer STARTTLS).</summary>
    private sealed class Pipe(TcpClient client) : SmtpServer.IO.ISecurableDuplexPipe
    {
        public System.IO.Pipelines.PipeReader Input { get; } = System.IO.Pipelines.PipeReader.Create(client.GetStream());

        public System.IO.Pipelines.PipeWriter Output { get; } = System.IO.Pipelines.PipeWriter.Create(client.GetStream());

        public bool IsSecure => false;

        public System.Security.Authentication.SslProtocols SslProtocol => System.Security.Authentication.SslProtocols.None;

        public Task UpgradeAsync(System.Security.Cryptography.X509Certificates.X509Certificate certificate, System.Security.Authentication.SslProtocols protocols, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("the test sink offers no TLS");

        public void Dispose() => client.Dispose();
    }
}
