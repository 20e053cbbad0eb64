using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Subscriptions;

/// <summary>The signed links a mail carries, all under <c>PublicBaseUrl</c>.</summary>
public sealed class MailLinks(LinkTokens tokens, IOptions<NewsletterOptions> options)
{
    private string BaseUrl => options.Value.PublicBaseUrl.TrimEnd('/');

    public string Home => BaseUrl + "/";

    /// <param name="episode">The subscriber's pending episode (<c>pending_since</c>): the link dies with it.</param>
    public string Confirm(long subscriberId, DateTimeOffset expires, long episode) =>
        $"{BaseUrl}/confirm?token={tokens.Create(TokenPurpose.Confirm, subscriberId, expires, episode)}";

    public string Unsubscribe(long subscriberId) =>
        $"{BaseUrl}/unsubscribe?token={tokens.Create(TokenPurpose.Unsubscribe, subscriberId)}";

    public string Preferences(long subscriberId) =>
        $"{BaseUrl}/preferences?token={tokens.Create(TokenPurpose.Preferences, subscriberId)}";

    /// <summary>"More like this" / "less like this" under a paper: a page whose button records the vote (a GET records nothing).</summary>
    public string Feedback(long subscriberId, long entryId, bool moreLike) =>
        $"{BaseUrl}/feedback?token={tokens.Create(moreLike ? TokenPurpose.MoreLike : TokenPurpose.LessLike, subscriberId, episode: entryId)}";
}
