using System.Text.RegularExpressions;

namespace Newsletter.Delivery;

/// <summary>The SMTP command a refusal answered.</summary>
public enum SmtpStage { Recipient, Data }

/// <summary>
/// What a permanent (5xx) refusal says about whom, from the stage it came at and its RFC 3463
/// enhanced status code. Only an addressing status at RCPT blames the reader: a refusal after DATA,
/// or any content (5.6.x) or policy (5.7.x) status, is about this message (its content, our
/// sender's reputation, a relay's rule) and suspending readers for it would empty the list.
/// </summary>
public static partial class SmtpRefusal
{
    // "5.7.1 ..." at the start of the reply text, as relays advertising ENHANCEDSTATUSCODES send it,
    // or later in it, as qmail does ("... allowed rcpthosts (#5.7.1)"). Not part of a longer
    // dotted number (an IP address, a version).
    [GeneratedRegex(@"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)")]
    private static partial Regex Enhanced();

    // Addresses quoted in a reply ("<digest@localhost>: Sender address rejected"): removed so
    // that refusals of different recipients with the same reason compare equal.
    [GeneratedRegex(@"<[^<>\s]*>|[^\s<>():;,]+@[^\s<>():;,]+")]
    private static partial Regex Address();

    /// <summary>The reply text with addresses in it replaced, for telling "the same refusal again" from different ones.</summary>
    public static string WithoutAddresses(string reply) => Address().Replace(reply, "<address>");

    /// <summary>The first enhanced status code in <paramref name="text"/>, if any.</summary>
    public static (int Class, int Subject, int Detail)? EnhancedCode(string text)
    {
        var match = Enhanced().Match(text);
        return match.Success
            ? (int.Parse(match.Groups[1].ValueSpan), int.Parse(match.Groups[2].ValueSpan), int.Parse(match.Groups[3].ValueSpan))
            : null;
    }

    /// <summary>Classifies a 5xx reply at <paramref name="stage"/>; 4xx replies are always transient.</summary>
    public static FailureKind Classify(SmtpStage stage, int code, string text)
    {
        if (code < 500)
            return FailureKind.Transient;
        var enhanced = EnhancedCode(text);
        // 5.2.2 mailbox full (and 552 without a code, its classic spelling at RCPT): try again later.
        if (enhanced is (_, 2, 2) || (enhanced is null && code == 552 && stage == SmtpStage.Recipient))
            return FailureKind.Transient;
        if (stage == SmtpStage.Data)
            return FailureKind.MessageRefused;
        return enhanced switch
        {
            // Bad sender mailbox (5.1.7) or sender domain (5.1.8, Postfix's reject_unknown_sender_domain
            // answered at RCPT): our address, not the reader's.
            (_, 1, 7) or (_, 1, 8) => FailureKind.MessageRefused,
            // Bad mailbox or domain (5.1.x), mailbox disabled (5.2.1): this reader.
            (_, 1, _) or (_, 2, 1) => FailureKind.Permanent,
            // No enhanced code: a bare 550/551/553 at RCPT is the classic "no such user" (the
            // dispatcher holds such verdicts until the relay has accepted someone, see its breaker).
            null => FailureKind.Permanent,
            // Content, policy, routing, protocol, message size...: this message, not this reader.
            _ => FailureKind.MessageRefused,
        };
    }
}
