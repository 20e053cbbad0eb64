using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Storage;

namespace Newsletter.Subscriptions;

public static class SubscriptionsRegistration
{
    public static WebApplicationBuilder AddSubscriptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SigningKeys>();
        builder.Services.AddSingleton<LinkTokens>();
        builder.Services.AddSingleton<MailLinks>();
        builder.Services.AddSingleton<VoteStore>();
        builder.Services.AddSingleton<SuppressionList>();
        builder.Services.AddSingleton<SubscriberStore>();
        builder.Services.AddSingleton<SubscriberReport>();
        builder.Services.AddValidatedOptions<SubscriptionOptions, SubscriptionOptionsValidator>(SubscriptionOptions.Section);
        builder.Services.AddAntiforgery();
        builder.Services.AddSingleton<PageRenderer>();
        builder.Services.AddSingleton<ConfirmationMailer>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ConfirmationMailer>());
        builder.Services.AddSingleton<AddressLimiter>();
        builder.Services.AddSingleton<TopicCatalog>();
        // Every state-changing endpoint is limited per client network (an IPv6 /64 counts as one).
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = (context, _) =>
            {
                context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SubscriptionEndpoints))
                    .LogInformation("Rate limit: refused {Method} {Path} from {Client}", context.HttpContext.Request.Method, context.HttpContext.Request.Path, ClientNetwork.Of(context.HttpContext));
                return ValueTask.CompletedTask;
            };
            limiter.AddPolicy(SubscriptionEndpoints.SubscribeRateLimit, http =>
            {
                var options = http.RequestServices.GetRequiredService<IOptions<SubscriptionOptions>>().Value;
                var client = ClientNetwork.Of(http);
                // Several instances share one allowance through the database; one instance counts in memory.
                if (http.RequestServices.GetRequiredService<Database>().IsPostgres)
                {
                    var services = http.RequestServices;
                    return RateLimitPartition.Get(client, key => new SharedWindowLimiter(services.GetRequiredService<RateLimitStore>(), key,
                        options.RateLimitPermits, options.RateLimitWindow, services.GetRequiredService<TimeProvider>(),
                        services.GetRequiredService<ILoggerFactory>().CreateLogger<SharedWindowLimiter>()));
                }
                return RateLimitPartition.GetFixedWindowLimiter(client,
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = options.RateLimitPermits, Window = options.RateLimitWindow, QueueLimit = 0 });
            });
            limiter.AddPolicy(SubscriptionEndpoints.LinkRateLimit, http =>
            {
                var options = http.RequestServices.GetRequiredService<IOptions<SubscriptionOptions>>().Value;
                return RateLimitPartition.GetFixedWindowLimiter(ClientNetwork.Of(http),
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = options.LinkRateLimitPermits, Window = options.RateLimitWindow, QueueLimit = 0 });
            });
        });
        return builder;
    }
}
