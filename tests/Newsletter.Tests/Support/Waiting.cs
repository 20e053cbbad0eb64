using MimeKit;

namespace Newsletter.Tests.Support;

public static class Waiting
{
    /// <summary>Waits (bounded) for a mail to arrive at the sink for <paramref name="address"/>.</summary>
    public static async Task<MimeMessage> ForMailAsync(this SmtpSink sink, string address, int count = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            var messages = sink.To(address);
            if (messages.Count >= count)
                return messages[count - 1];
            await Task.Delay(50);
        }
        throw new TimeoutException($"no mail #{count} for {address} within 15 s");
    }

    /// <summary>The message as a mail client would read it back from the wire.</summary>
    public static MimeMessage Reloaded(this MimeMessage message)
    {
        using var stream = new MemoryStream();
        message.WriteTo(stream);
        stream.Position = 0;
        return MimeMessage.Load(stream);
    }

    public static string ConfirmLink(this MimeMessage message) =>
        System.Text.RegularExpressions.Regex.Match(message.TextBody!, @"https?://\S+/confirm\?token=\S+").Value;
}
