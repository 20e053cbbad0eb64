using Newsletter.Configuration;
using Newsletter.Issues;
using Newsletter.Rendering;

namespace Newsletter.Delivery;

public static class DeliveryRegistration
{
    /// <summary>Composing, rendering and sending: the daily loop after collecting.</summary>
    public static WebApplicationBuilder AddDelivery(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<DeliveryOptions, DeliveryOptionsValidator>(DeliveryOptions.Section);
        builder.Services.AddValidatedOptions<SmtpOptions, SmtpOptionsValidator>(SmtpOptions.Section);
        builder.Services.AddSingleton<TemplateStore>();
        builder.Services.AddSingleton<TemplateRenderer>();
        builder.Services.AddSingleton<DigestRenderer>();
        builder.Services.AddSingleton<DigestMessageBuilder>();
        builder.Services.AddSingleton<IssueStore>();
        builder.Services.AddSingleton<DeliveryStore>();
        builder.Services.AddSingleton<TransportFactory>();
        builder.Services.AddSingleton<Dispatcher>();
        // Per-reader digests grouped by content; DailyDigest (Orchestration) drives it.
        builder.Services.AddSingleton<DigestComposer>();
        // The host waits for a delivery run to stop gracefully, and a little longer.
        // Read leniently: the host's options are built before configuration is checked, and a bad
        // value must reach the configuration report, not crash the host here.
        builder.Services.AddOptions<HostOptions>().Configure<IConfiguration>((host, configuration) =>
            host.ShutdownTimeout = (TimeSpan.TryParse(configuration[$"{DeliveryOptions.Section}:{nameof(DeliveryOptions.ShutdownTimeout)}"],
                System.Globalization.CultureInfo.InvariantCulture, out var timeout) && timeout > TimeSpan.Zero ? timeout : new DeliveryOptions().ShutdownTimeout)
                + TimeSpan.FromSeconds(5));
        return builder;
    }
}
