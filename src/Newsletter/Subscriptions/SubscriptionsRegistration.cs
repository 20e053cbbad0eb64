namespace Newsletter.Subscriptions;

public static class SubscriptionsRegistration
{
    public static WebApplicationBuilder AddSubscriptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SigningKeys>();
        builder.Services.AddSingleton<LinkTokens>();
        builder.Services.AddSingleton<MailLinks>();
        builder.Services.AddSingleton<SubscriberStore>();
        return builder;
    }
}
