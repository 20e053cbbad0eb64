using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Subscriptions;

/// <summary>The signed links a mail carries, all under <c>PublicBaseUrl</c>.</summary>
public sealed class MailLinks(LinkTokens tokens, IOptions<NewsletterOptions> options) : Delivery.IRecipientLinks
{
    private string BaseUrl => options.Value.PublicBaseUrl.TrimEnd('/');

    public string Home => BaseUrl + "/";

    public string Confirm(long subscriberId, DateTimeOffset expires) =>
        $"{BaseUrl}/confirm?token={tokens.Create(TokenPurpose.Confirm, subscriberId, expires)}";

    public string Unsubscribe(long subscriberId) =>
        $"{BaseUrl}/unsubscribe?token={tokens.Create(TokenPurpose.Unsubscribe, subscriberId)}";

    public string Preferences(long subscriberId) =>
        $"{BaseUrl}/preferences?token={tokens.Create(TokenPurpose.Preferences, subscriberId)}";
}
