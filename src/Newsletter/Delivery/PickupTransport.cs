using MimeKit;

namespace Newsletter.Delivery;

/// <summary>
/// Writes one .eml per message into a folder (for a local MTA's pickup, or for inspection).
/// Each file is written under a temporary name and renamed, so a reader never sees half a message.
/// </summary>
public sealed class PickupTransport(string directory) : IMailTransport
{
    public int MaxSenders => 2;

    public string Describe() => $"pickup folder {directory}";

    public Task<IMailSender> ConnectAsync(CancellationToken cancellationToken)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new DeliveryException(FailureKind.RunLevel, $"pickup folder {directory} cannot be created: {exception.Message}", exception);
        }
        return Task.FromResult<IMailSender>(new Sender(directory));
    }

    private sealed class Sender(string directory) : IMailSender
    {
        public bool IsUsable => true;

        public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
        {
            // The Message-ID names the file: a resend after a crash overwrites rather than duplicates.
            var name = string.Concat((message.MessageId ?? Guid.NewGuid().ToString("N")).Split(Path.GetInvalidFileNameChars())).Replace('@', '_');
            var final = Path.Combine(directory, name + ".eml");
            var temporary = Path.Combine(directory, "." + name + "." + Guid.NewGuid().ToString("N") + ".tmp");
            try
            {
                await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 65536, FileOptions.Asynchronous))
                {
                    await message.WriteToAsync(stream, cancellationToken);
                    await stream.FlushAsync(cancellationToken);
                    stream.Flush(flushToDisk: true);
                }
                File.Move(temporary, final, overwrite: true);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                File.Delete(temporary);
                throw new DeliveryException(FailureKind.RunLevel, $"cannot write to pickup folder {directory}: {exception.Message}", exception);
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
