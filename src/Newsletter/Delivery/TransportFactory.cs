using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Delivery;

/// <summary>Chooses the transport from configuration: SMTP when a host is set (or Mode says so), else the pickup folder.</summary>
public sealed class TransportFactory(IOptions<DeliveryOptions> delivery, IOptions<SmtpOptions> smtp, DkimSigning dkim, ILoggerFactory loggers)
{
    public DeliveryMode Mode => delivery.Value.Mode ?? (string.IsNullOrWhiteSpace(smtp.Value.Host) ? DeliveryMode.Pickup : DeliveryMode.Smtp);

    public IMailTransport Create()
    {
        IMailTransport transport = Mode == DeliveryMode.Smtp
            ? new SmtpTransport(smtp.Value, loggers.CreateLogger<SmtpTransport>())
            : new PickupTransport(PathResolver.FromCurrentDirectory(delivery.Value.PickupDirectory));
        // Signed at the last step, so digests, confirmations and test sends are all covered.
        return dkim.Enabled ? new SigningTransport(transport, dkim) : transport;
    }
}
