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
        return builder;
    }
}
