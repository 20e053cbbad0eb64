using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Delivery;

/// <summary>Chooses the transport from configuration: SMTP when a host or relays are set (or Mode says so), else the pickup folder.</summary>
public sealed class TransportFactory(IOptions<DeliveryOptions> delivery, IOptions<SmtpOptions> smtp, DkimSigning dkim, RelayStates relays, TimeProvider time, ILoggerFactory loggers)
{
    public IMailTransport Create() => Create(null);

    public DeliveryMode Mode => delivery.Value.Mode ?? (string.IsNullOrWhiteSpace(smtp.Value.Host) && smtp.Value.Relays.Count == 0 ? DeliveryMode.Pickup : DeliveryMode.Smtp);

    /// <param name="content">A delivery run's watch on relays refusing the content; none for single mails (confirmations, tests).</param>
    internal IMailTransport Create(ContentRefusals? content)
    {
        IMailTransport transport = Mode != DeliveryMode.Smtp ? new PickupTransport(PathResolver.FromCurrentDirectory(delivery.Value.PickupDirectory))
            : smtp.Value.Relays.Count > 0 ? new RelayPool(smtp.Value, relays, time, loggers, content)
            : content is not null ? new GuardedRelay(new SmtpTransport(smtp.Value, loggers.CreateLogger<SmtpTransport>()), RelayOutages.Configured(smtp.Value)[0], content, time)
            : new SmtpTransport(smtp.Value, loggers.CreateLogger<SmtpTransport>());
        // Signed at the last step, so digests, confirmations and test sends are all covered.
        return dkim.Enabled ? new SigningTransport(transport, dkim) : transport;
    }
}
