using System.Security.Cryptography;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Search;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;
using Newsletter.Delivery;

namespace Newsletter.Bounces;

/// <summary>What one pass over the bounce mailbox did.</summary>
public sealed record BounceSummary(int Read, int Hard, int Soft, int Complaints, int Unsubscribes, int Other, int AlreadyCounted)
{
    public override string ToString() =>
        $"{Read} read: {Hard} hard bounces, {Soft} soft, {Complaints} complaints, {Unsubscribes} mail unsubscribes, {Other} other, {AlreadyCounted} already counted";
}

/// <summary>
/// Reads the bounce mailbox (<c>Bounces:Mailbox</c>) over IMAP or POP3 with MailKit: each message
/// is parsed, recorded, and only then moved to <c>ProcessedFolder</c> (or deleted), so a crash
/// between the two leaves it in place to be read again, and the recorder's per-message key
/// keeps it from counting twice. POP3 deletions take effect at QUIT: a crash before it reads
/// the whole batch again, to the same effect.
/// </summary>
public sealed class BounceInbox(IOptions<BounceOptions> options, BounceParser parser, BounceRecorder recorder, ILogger<BounceInbox> logger)
{
    // A pass reads at most this many messages; the next one takes the rest.
    private const int MaxPerPass = 5_000;

    public bool Configured => options.Value.Enabled && !string.IsNullOrWhiteSpace(options.Value.Mailbox.Host);

    public async Task<BounceSummary> ProcessAsync(CancellationToken cancellationToken)
    {
        if (!Configured)
            return new BounceSummary(0, 0, 0, 0, 0, 0, 0);
        var mailbox = options.Value.Mailbox;
        var tally = new Tally();
        try
        {
            if (mailbox.Protocol == MailboxProtocol.Pop3)
                await ReadPop3Async(mailbox, tally, cancellationToken);
            else
                await ReadImapAsync(mailbox, tally, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException && exception is MailKit.Net.Imap.ImapCommandException or ImapProtocolException or Pop3CommandException
            or Pop3ProtocolException or AuthenticationException or SslHandshakeException or IOException or System.Net.Sockets.SocketException or ServiceNotConnectedException or FolderNotFoundException)
        {
            // The next pass tries again; what was recorded stays recorded.
            throw new BounceMailboxException($"the bounce mailbox {mailbox.Host}:{Port(mailbox)} cannot be read ({exception.Message}); {tally.Summary()} before that", exception);
        }
        var summary = tally.Summary();
        if (summary.Read > 0)
            logger.LogInformation("Bounce mailbox: {Summary}", summary);
        return summary;
    }

    private async Task ReadImapAsync(BounceMailboxOptions mailbox, Tally tally, CancellationToken cancellationToken)
    {
        using var client = new ImapClient { Timeout = (int)mailbox.Timeout.TotalMilliseconds };
        await client.ConnectAsync(mailbox.Host!, Port(mailbox), Secure(mailbox), cancellationToken);
        await client.AuthenticateAsync(mailbox.Username ?? "", mailbox.Password ?? "", cancellationToken);
        var folder = mailbox.Folder.Equals("INBOX", StringComparison.OrdinalIgnoreCase) ? client.Inbox : await client.GetFolderAsync(mailbox.Folder, cancellationToken);
        IMailFolder? processed = null;
        if (!string.IsNullOrWhiteSpace(mailbox.ProcessedFolder))
        {
            var personal = client.GetFolder(client.PersonalNamespaces[0]);
            try { processed = await personal.GetSubfolderAsync(mailbox.ProcessedFolder, cancellationToken); }
            catch (FolderNotFoundException) { processed = await personal.CreateAsync(mailbox.ProcessedFolder, true, cancellationToken); }
        }
        await folder.OpenAsync(FolderAccess.ReadWrite, cancellationToken);
        var uids = (await folder.SearchAsync(SearchQuery.NotDeleted, cancellationToken)).Take(MaxPerPass).ToList();
        foreach (var uid in uids)
        {
            await using (var raw = await folder.GetStreamAsync(uid, cancellationToken))
                await HandleAsync(raw, tally, cancellationToken);
            // Only after the record is committed: a crash here leaves it to be read (and skipped) again.
            if (processed is not null)
                await folder.MoveToAsync(uid, processed, cancellationToken);
            else
                await folder.AddFlagsAsync(uid, MessageFlags.Deleted, silent: true, cancellationToken);
        }
        if (processed is null && uids.Count > 0)
            await folder.ExpungeAsync(cancellationToken);
        await client.DisconnectAsync(quit: true, cancellationToken);
    }

    private async Task ReadPop3Async(BounceMailboxOptions mailbox, Tally tally, CancellationToken cancellationToken)
    {
        using var client = new Pop3Client { Timeout = (int)mailbox.Timeout.TotalMilliseconds };
        await client.ConnectAsync(mailbox.Host!, Port(mailbox), Secure(mailbox), cancellationToken);
        await client.AuthenticateAsync(mailbox.Username ?? "", mailbox.Password ?? "", cancellationToken);
        var count = Math.Min(MaxPerPass, await client.GetMessageCountAsync(cancellationToken));
        for (var index = 0; index < count; index++)
        {
            await using (var raw = await client.GetStreamAsync(index, cancellationToken: cancellationToken))
                await HandleAsync(raw, tally, cancellationToken);
            await client.DeleteMessageAsync(index, cancellationToken);
        }
        await client.DisconnectAsync(quit: true, cancellationToken);
    }

    private async Task HandleAsync(Stream raw, Tally tally, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await raw.CopyToAsync(copy, cancellationToken);
        var bytes = copy.ToArray();
        MimeMessage message;
        try
        {
            message = await MimeMessage.LoadAsync(new MemoryStream(bytes), cancellationToken);
        }
        catch (FormatException)
        {
            // Not MIME at all: nothing to learn from it, and it must not block the mailbox.
            message = new MimeMessage { Subject = "(unparsable message)" };
        }
        var report = parser.Parse(message);
        var outcome = await recorder.RecordAsync(report, Key(message, bytes), cancellationToken);
        tally.Count(report.Kind, outcome);
    }

    /// <summary>The message's own identity: its Message-ID (a copy delivered twice is the same report), else a hash of its bytes.</summary>
    internal static string Key(MimeMessage message, byte[] bytes) =>
        message.MessageId is { Length: > 0 } id ? "mid:" + (id.Length > 400 ? id[..400] : id) : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static int Port(BounceMailboxOptions mailbox) => mailbox.Port != 0 ? mailbox.Port : (mailbox.Protocol, mailbox.Security) switch
    {
        (MailboxProtocol.Imap, SmtpSecurity.SslOnConnect or SmtpSecurity.Auto) => 993,
        (MailboxProtocol.Imap, _) => 143,
        (MailboxProtocol.Pop3, SmtpSecurity.SslOnConnect or SmtpSecurity.Auto) => 995,
        _ => 110,
    };

    private static SecureSocketOptions Secure(BounceMailboxOptions mailbox) => mailbox.Security switch
    {
        SmtpSecurity.None => SecureSocketOptions.None,
        SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
        SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
        _ => SecureSocketOptions.Auto,
    };

    private sealed class Tally
    {
        private int _read, _hard, _soft, _complaints, _unsubscribes, _other, _already;

        public void Count(BounceKind kind, BounceOutcome outcome)
        {
            _read++;
            if (outcome == BounceOutcome.AlreadyCounted) { _already++; return; }
            switch (kind)
            {
                case BounceKind.HardBounce: _hard++; break;
                case BounceKind.SoftBounce: _soft++; break;
                case BounceKind.Complaint: _complaints++; break;
                case BounceKind.MailUnsubscribe: _unsubscribes++; break;
                default: _other++; break;
            }
        }

        public BounceSummary Summary() => new(_read, _hard, _soft, _complaints, _unsubscribes, _other, _already);
    }
}

/// <summary>The bounce mailbox could not be read; the sentence says which and why.</summary>
public sealed class BounceMailboxException(string message, Exception inner) : Exception(message, inner);
