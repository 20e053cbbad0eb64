using Microsoft.Extensions.Options;
using MimeKit;
using Newsletter.Configuration;
using Newsletter.Rendering;

namespace Newsletter.Delivery;

/// <summary>Builds outgoing MIME messages: multipart/alternative (text, then HTML) from the configured sender.</summary>
public sealed class DigestMessageBuilder(IOptions<NewsletterOptions> options)
{
    /// <summary>A digest: a list message, with the RFC 2369 / RFC 8058 unsubscribe headers and List-Id.</summary>
    public MimeMessage Build(RenderedDigest digest, string to, string messageId, string unsubscribeUrl, DateTimeOffset date)
    {
        var message = Build(digest.Subject, digest.Html, digest.Text, to, messageId, date);
        var from = options.Value.From;
        // Mail clients show their own unsubscribe button and POST to it (RFC 8058).
        message.Headers.Add("List-Unsubscribe", $"<{unsubscribeUrl}>");
        message.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        message.Headers.Add("List-Id", $"{SafeListName(from.Name)} <digest.{from.Address[(from.Address.LastIndexOf('@') + 1)..]}>");
        return message;
    }

    /// <summary>A single message to one person (e.g. a confirmation request).</summary>
    public MimeMessage Build(string subject, string html, string text, string to, string messageId, DateTimeOffset date)
    {
        var from = options.Value.From;
        return new MimeMessage
        {
            // A fresh MailboxAddress per message: a shared instance subscribes every message to
            // its Changed event and keeps them all alive (PERFORMANCE-NOTES, trap 2).
            From = { new MailboxAddress(from.Name, from.Address) },
            To = { MailboxAddress.Parse(to) },
            Subject = subject,
            Date = date,
            MessageId = messageId.Trim('<', '>'),
            Body = new BodyBuilder { TextBody = text, HtmlBody = html }.ToMessageBody(),
        };
    }

    private static string SafeListName(string name) =>
        "\"" + new string(name.Where(c => !char.IsControl(c) && c != '"' && c != '\\').ToArray()) + "\"";
}
