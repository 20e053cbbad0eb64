using System.Runtime.CompilerServices;
using MimeKit;

namespace Newsletter.Delivery;

/// <summary>
/// The SMTP envelope sender (MAIL FROM, the return path bounces go to) of a message, when it is
/// not the From address: a VERP address per delivery (<c>bounce+TOKEN@...</c>) maps each later
/// bounce to its delivery without trusting what a relay writes into the bounce. Kept beside the
/// message rather than in a header, because a Sender: header would show in mail clients.
/// </summary>
public static class Envelope
{
    private static readonly ConditionalWeakTable<MimeMessage, MailboxAddress> ReturnPaths = new();

    public static void SetReturnPath(MimeMessage message, string address) =>
        ReturnPaths.AddOrUpdate(message, new MailboxAddress("", address));

    /// <summary>The return path set for this message, or null to use its From address.</summary>
    public static MailboxAddress? ReturnPath(MimeMessage message) =>
        ReturnPaths.TryGetValue(message, out var address) ? address : null;
}
