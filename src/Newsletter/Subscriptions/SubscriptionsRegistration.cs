using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Subscriptions;

public static class SubscriptionsRegistration
{
    public static WebApplicationBuilder AddSubscriptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SigningKeys>();
        builder.Services.AddSingleton<LinkTokens>();
        builder.Services.AddSingleton<MailLinks>();
        builder.Services.AddSingleton<SubscriberStore>();
        builder.Services.AddValidatedOptions<SubscriptionOptions, SubscriptionOptionsValidator>(SubscriptionOptions.Section);
        builder.Services.AddAntiforgery();
        builder.Services.AddSingleton<PageRenderer>();
        builder.Services.AddSingleton<ConfirmationMailer>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ConfirmationMailer>());
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(SubscriptionEndpoints.SubscribeRateLimit, http =>
            {
                var options = http.RequestServices.GetRequiredService<IOptions<SubscriptionOptions>>().Value;
                return RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = options.RateLimitPermits, Window = options.RateLimitWindow, QueueLimit = 0 });
            });
        });
        return builder;
    }
}
