using System.Text.RegularExpressions;
using MimeKit;

namespace Newsletter.Bounces;

public enum BounceKind
{
    /// <summary>5.x.x: the address does not take our mail.</summary>
    HardBounce,
    /// <summary>4.x.x: delayed, the sending server keeps trying; recorded only.</summary>
    SoftBounce,
    /// <summary>An ARF feedback report: the reader marked a digest as spam.</summary>
    Complaint,
    /// <summary>A mail to the List-Unsubscribe mailto address.</summary>
    MailUnsubscribe,
    /// <summary>Anything else (an auto-reply, a success notice, a bounce of a mail not ours).</summary>
    Unrecognised,
}

/// <summary>What one message in the bounce mailbox says, and whom it is about.</summary>
public sealed record BounceReport(BounceKind Kind, long? DeliveryId, long? SubscriberId, string? Status, string? Recipient, string Detail, string? OriginalMessageId)
{
    /// <summary>RFC 3463 X.1.x: the address itself is bad (no such user 5.1.1, no such domain 5.1.2, no MX 5.1.10...): no point trying again.</summary>
    public bool BadAddress => Status is { } status && status.StartsWith("5.1.", StringComparison.Ordinal);
}

/// <summary>
/// Reads delivery-status notifications (RFC 3464 <c>multipart/report</c> with
/// <c>message/delivery-status</c>, as Postfix, Exchange and Gmail send them), ARF feedback reports
/// (RFC 5965 <c>message/feedback-report</c>) and mail unsubscribes, with MimeKit. Whom a report is
/// about comes first from the address it was sent to (our VERP return path), then from the
/// returned original (its List-Unsubscribe mailto, then its Message-ID): never from free text.
/// </summary>
public sealed partial class BounceParser(ReturnPaths returnPaths)
{
    // Where servers put the address a message was delivered to; To last (a forwarded copy keeps it).
    private static readonly string[] RecipientHeaders = ["Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Cc"];

    public BounceReport Parse(MimeMessage message)
    {
        long? deliveryId = null, subscriberId = null;
        var unsubscribeMail = false;
        foreach (var address in Addresses(message))
        {
            if (!returnPaths.TryRead(address, out var purpose, out var id))
                continue;
            if (purpose == AddressPurpose.Bounce)
                deliveryId ??= id;
            else
            {
                subscriberId ??= id;
                unsubscribeMail = true;
            }
        }

        var report = message.Body as MultipartReport ?? message.BodyParts.OfType<MultipartReport>().FirstOrDefault()
            ?? (message.Body as Multipart)?.OfType<MultipartReport>().FirstOrDefault();
        var original = Original(message);
        var originalId = original?.MessageId;
        // The returned copy names its reader in its own mailto (the same token as the header had).
        if (original?.Headers["List-Unsubscribe"] is { } listUnsubscribe)
            foreach (Match mailto in MailtoPattern().Matches(listUnsubscribe))
                if (returnPaths.TryRead(mailto.Groups[1].Value, out var purpose, out var id) && purpose == AddressPurpose.Unsubscribe)
                    subscriberId ??= id;
        if (original?.Headers["Return-Path"] is { } returnPath && returnPaths.TryRead(returnPath.Trim().Trim('<', '>'), out var rp, out var rpId) && rp == AddressPurpose.Bounce)
            deliveryId ??= rpId;

        var feedback = FindFeedback(message);
        if (feedback is not null || string.Equals(report?.ReportType, "feedback-report", StringComparison.OrdinalIgnoreCase))
        {
            var type = feedback?["Feedback-Type"]?.Trim() ?? "abuse";
            var reporter = feedback?["User-Agent"]?.Trim() ?? message.From.Mailboxes.FirstOrDefault()?.Address ?? "unknown";
            var recipient = feedback?["Original-Rcpt-To"]?.Trim() ?? original?.To.Mailboxes.FirstOrDefault()?.Address;
            return new BounceReport(BounceKind.Complaint, deliveryId, subscriberId, null, recipient, $"feedback report ({type}) from {reporter}", originalId);
        }

        var status = message.BodyParts.OfType<MessageDeliveryStatus>().FirstOrDefault();
        if (status is not null)
        {
            // Group 0 is about the message; each further group is one recipient (normally just ours).
            var recipients = status.StatusGroups.Skip(1).ToList();
            var worst = recipients.FirstOrDefault(g => Code(g)?.StartsWith('5') == true)
                ?? recipients.FirstOrDefault(g => Code(g)?.StartsWith('4') == true);
            if (worst is not null)
            {
                var code = Code(worst)!;
                var recipient = Address(worst["Final-Recipient"]) ?? Address(worst["Original-Recipient"]);
                var diagnostic = worst["Diagnostic-Code"]?.Trim() is { Length: > 0 } d ? d : worst["Action"]?.Trim() ?? "";
                var detail = Squeeze($"{code} {diagnostic}");
                return new BounceReport(code.StartsWith('5') ? BounceKind.HardBounce : BounceKind.SoftBounce, deliveryId, subscriberId, code, recipient, detail, originalId);
            }
        }

        if (unsubscribeMail)
            return new BounceReport(BounceKind.MailUnsubscribe, null, subscriberId, null, message.From.Mailboxes.FirstOrDefault()?.Address, "asked by mail (List-Unsubscribe mailto)", null);
        return new BounceReport(BounceKind.Unrecognised, deliveryId, null, null, null, Squeeze($"not a report: {message.Subject}"), originalId);
    }

    /// <summary>
    /// The status of one recipient: its Status field, unless that is a generic X.0.0 and the
    /// diagnostic names a more precise one (Exchange and Gmail say 5.0.0 but "550 5.1.1 ...").
    /// </summary>
    private static string? Code(HeaderList group)
    {
        var status = EnhancedCode().Match(group["Status"] ?? "") is { Success: true } s ? s.Value : null;
        var diagnostic = EnhancedCode().Match(group["Diagnostic-Code"] ?? "") is { Success: true } d ? d.Value : null;
        if (status is null)
            return diagnostic;
        return status.EndsWith(".0.0", StringComparison.Ordinal) && diagnostic is not null && diagnostic[0] == status[0] ? diagnostic : status;
    }

    private static IEnumerable<string> Addresses(MimeMessage message)
    {
        foreach (var name in RecipientHeaders)
            foreach (var header in message.Headers.Where(h => h.Field.Equals(name, StringComparison.OrdinalIgnoreCase)))
            {
                if (InternetAddressList.TryParse(header.Value, out var list))
                    foreach (var mailbox in list.Mailboxes)
                        yield return mailbox.Address;
                else
                    yield return header.Value.Trim().Trim('<', '>');
            }
    }

    /// <summary>The returned original or its headers (message/rfc822, text/rfc822-headers), if the report has one.</summary>
    private static MimeMessage? Original(MimeMessage message) =>
        message.BodyParts.OfType<MessagePart>().Select(p => p.Message).FirstOrDefault(m => m is not null)
        ?? (message.Body as Multipart)?.OfType<MessagePart>().Select(p => p.Message).FirstOrDefault(m => m is not null);

    private static HeaderList? FindFeedback(MimeMessage message) =>
        message.BodyParts.OfType<MessageFeedbackReport>().FirstOrDefault()?.Fields;

    /// <summary>"rfc822; user@example.org" → user@example.org.</summary>
    private static string? Address(string? field)
    {
        if (string.IsNullOrWhiteSpace(field))
            return null;
        var semicolon = field.IndexOf(';');
        return (semicolon >= 0 ? field[(semicolon + 1)..] : field).Trim().Trim('<', '>');
    }

    private static string Squeeze(string text)
    {
        var flat = WhiteSpace().Replace(text, " ").Trim();
        return flat.Length <= 300 ? flat : flat[..300] + "...";
    }

    [GeneratedRegex(@"\b[245]\.\d{1,3}\.\d{1,3}\b")]
    private static partial Regex EnhancedCode();

    [GeneratedRegex(@"<mailto:([^>?]+)")]
    private static partial Regex MailtoPattern();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();
}
