using Newsletter.Configuration;

namespace Newsletter.Delivery;

public static class DeliveryRegistration
{
    /// <summary>Sending: the ledger, the transports, the dispatcher and the MIME messages it sends.</summary>
    public static WebApplicationBuilder AddDelivery(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<DeliveryOptions, DeliveryOptionsValidator>(DeliveryOptions.Section);
        builder.Services.AddValidatedOptions<SmtpOptions, SmtpOptionsValidator>(SmtpOptions.Section);
        builder.Services.AddValidatedOptions<DkimOptions, DkimOptionsValidator>(DkimOptions.Section);
        builder.Services.AddSingleton<IStartupRequirement, DkimKeyRequirement>();
        builder.Services.AddSingleton<DkimSigning>();
        builder.Services.AddSingleton<DigestMessageBuilder>();
        builder.Services.AddSingleton<DeliveryStore>();
        builder.Services.AddSingleton<LedgerReport>();
        builder.Services.AddSingleton<TransportFactory>();
        builder.Services.AddSingleton<RelayStates>();
        builder.Services.AddSingleton<SendHold>();
        builder.Services.AddSingleton<RelayOutages>();
        // What each delivery sends (IDigestMessages) is registered by Orchestration.
        builder.Services.AddSingleton<Dispatcher>();
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
