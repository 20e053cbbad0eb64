using Microsoft.Extensions.Options;
using MimeKit;
using Newsletter.Configuration;
using Newsletter.Rendering;

namespace Newsletter.Delivery;

/// <summary>Builds the MIME message of one digest: multipart/alternative (text, then HTML) with the list headers.</summary>
public sealed class DigestMessageBuilder(IOptions<NewsletterOptions> options)
{
    public MimeMessage Build(RenderedDigest digest, string to, string messageId, string unsubscribeUrl, DateTimeOffset date)
    {
        var from = options.Value.From;
        var message = new MimeMessage
        {
            // A fresh MailboxAddress per message: a shared instance subscribes every message to
            // its Changed event and keeps them all alive (PERFORMANCE-NOTES, trap 2).
            From = { new MailboxAddress(from.Name, from.Address) },
            To = { MailboxAddress.Parse(to) },
            Subject = digest.Subject,
            Date = date,
            MessageId = messageId.Trim('<', '>'),
            Body = new BodyBuilder { TextBody = digest.Text, HtmlBody = digest.Html }.ToMessageBody(),
        };
        // RFC 2369 / RFC 8058: mail clients show their own unsubscribe button and POST to it.
        message.Headers.Add("List-Unsubscribe", $"<{unsubscribeUrl}>");
        message.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        message.Headers.Add("List-Id", $"{SafeListName(from.Name)} <digest.{from.Address[(from.Address.LastIndexOf('@') + 1)..]}>");
        return message;
    }

    private static string SafeListName(string name) =>
        "\"" + new string(name.Where(c => !char.IsControl(c) && c != '"' && c != '\\').ToArray()) + "\"";
}
