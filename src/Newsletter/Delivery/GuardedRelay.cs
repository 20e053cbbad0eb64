using MimeKit;

namespace Newsletter.Delivery;

/// <summary>
/// The single <c>Smtp:Host</c> relay in a delivery run, watched for content refusals like each of
/// <c>Smtp:Relays</c> (<see cref="ContentRefusals"/>): once it is out, the run stops without
/// offering it anything more, except the one probe message when its cool-down is over.
/// </summary>
internal sealed class GuardedRelay(IMailTransport inner, string relay, ContentRefusals content, TimeProvider time) : IMailTransport
{
    public int MaxSenders => inner.MaxSenders;

    public string Describe() => inner.Describe();

    public async Task<IMailSender> ConnectAsync(CancellationToken cancellationToken)
    {
        await content.RefreshAsync(cancellationToken);
        // Out and not yet due for a probe (nor probed by this run): no connection either.
        if (!content.Usable(relay, time.GetUtcNow()) && !await content.WaitForProbesAsync(cancellationToken))
            throw Out();
        return new Sender(await inner.ConnectAsync(cancellationToken), this);
    }

    private ContentRefusals Content => content;

    private string Relay => relay;

    private DeliveryException Out() =>
        new(FailureKind.RunLevel, "no SMTP relay is usable: " + (content.OutageOf(relay, time.GetUtcNow()) ?? relay + " is out of rotation"));

    private sealed class Sender(IMailSender inner, GuardedRelay guard) : IMailSender
    {
        public bool IsUsable => inner.IsUsable;

        public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
        {
            var ticket = await guard.Content.AdmitAsync(guard.Relay, cancellationToken) ?? throw guard.Out();
            try
            {
                await inner.SendAsync(message, cancellationToken);
            }
            catch (DeliveryException refusal) when (refusal.Kind == FailureKind.MessageRefused)
            {
                await guard.Content.RefusedAsync(ticket, refusal.Message, cancellationToken);
                throw;
            }
            catch
            {
                await guard.Content.FailedAsync(ticket, cancellationToken);
                throw;
            }
            await guard.Content.AcceptedAsync(ticket, cancellationToken);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
