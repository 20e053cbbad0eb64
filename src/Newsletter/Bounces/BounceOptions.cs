using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Delivery;

namespace Newsletter.Bounces;

public enum MailboxProtocol { Imap, Pop3 }

/// <summary>
/// Bounces, complaints and mail unsubscribes that arrive after the SMTP session: a VERP return
/// path per delivery and the mailbox those land in. Empty <see cref="ReturnPathDomain"/> = off.
/// </summary>
public sealed class BounceOptions
{
    public const string Section = "Newsletter:Bounces";

    /// <summary>Return paths are <c>bounce+TOKEN@ReturnPathDomain</c>; mail unsubscribes <c>unsubscribe+TOKEN@ReturnPathDomain</c>.</summary>
    public string? ReturnPathDomain { get; set; }

    public BounceMailboxOptions Mailbox { get; set; } = new();

    /// <summary>Hard bounces (5.x.x) after which an address is suspended; a 5.1.x (no such mailbox or domain) suspends at once.</summary>
    public int MaxHardBounces { get; set; } = 1;

    /// <summary>Complaints per digest sent, over the last <see cref="ComplaintWindow"/> digests, above which sending is held (Gmail's and Yahoo's 0.3%).</summary>
    public double MaxComplaintRate { get; set; } = 0.003;

    /// <summary>How many of the latest digests sent the complaint rate is measured over.</summary>
    public int ComplaintWindow { get; set; } = 10_000;

    /// <summary>Below this many digests in the window the rate says too little to hold sending on (one complaint in 20 mails is 5%).</summary>
    public int MinDigestsForComplaintRate { get; set; } = 1_000;

    /// <summary>Quartz cron: how often the mailbox is read.</summary>
    public string Schedule { get; set; } = "0 */5 * * * ?";

    public bool Enabled => !string.IsNullOrWhiteSpace(ReturnPathDomain);
}

public sealed class BounceMailboxOptions
{
    public MailboxProtocol Protocol { get; set; } = MailboxProtocol.Imap;
    public string? Host { get; set; }
    /// <summary>0: the protocol's usual port (IMAP 993/143, POP3 995/110, by <see cref="Security"/>).</summary>
    public int Port { get; set; }
    public SmtpSecurity Security { get; set; } = SmtpSecurity.Auto;
    public string? Username { get; set; }
    public string? Password { get; set; }

    /// <summary>The IMAP folder read (POP3 has only the one).</summary>
    public string Folder { get; set; } = "INBOX";

    /// <summary>IMAP: where a processed message is moved (created when missing); empty deletes it instead. POP3 always deletes.</summary>
    public string ProcessedFolder { get; set; } = "Processed";

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);
}

internal sealed class BounceOptionsValidator : IValidateOptions<BounceOptions>
{
    public ValidateOptionsResult Validate(string? name, BounceOptions options)
    {
        var check = new ValidationFailures(BounceOptions.Section);
        check.Require(options.MaxHardBounces >= 1, "MaxHardBounces", $"must be at least 1; got {options.MaxHardBounces}.");
        check.Require(options.MaxComplaintRate is > 0 and < 1, "MaxComplaintRate", $"must be a fraction between 0 and 1 such as 0.003 (0.3%); got {options.MaxComplaintRate}.");
        check.Require(options.ComplaintWindow >= 1, "ComplaintWindow", "must be at least 1.");
        check.Require(options.MinDigestsForComplaintRate >= 1, "MinDigestsForComplaintRate", "must be at least 1.");
        check.Require(Quartz.CronExpression.TryParse(options.Schedule, out _), "Schedule", $"must be a Quartz cron expression such as '0 */5 * * * ?'; got '{options.Schedule}'.");
        if (!options.Enabled)
            return check.Result();
        check.Require(DkimAlignment.IsDnsName(options.ReturnPathDomain!.Trim()), "ReturnPathDomain", $"must be a domain name; got '{options.ReturnPathDomain}'.");
        var mailbox = options.Mailbox;
        if (!string.IsNullOrWhiteSpace(mailbox.Host))
        {
            check.Require(mailbox.Port is >= 0 and < 65536, "Mailbox:Port", $"must be between 1 and 65535 (or 0 for the usual port); got {mailbox.Port}.");
            check.Require(!string.IsNullOrWhiteSpace(mailbox.Username), "Mailbox:Username", "must be set: the bounce mailbox is read with a login.");
            check.Require(!string.IsNullOrWhiteSpace(mailbox.Folder), "Mailbox:Folder", "must name a folder (usually INBOX).");
            check.Require(mailbox.Timeout > TimeSpan.Zero, "Mailbox:Timeout", "must be positive.");
        }
        return check.Result();
    }
}
