using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Subscriptions;

public sealed class SubscriptionOptions
{
    public const string Section = "Newsletter:Subscriptions";

    /// <summary>How long a confirmation link works; unconfirmed subscribers are purged after it.</summary>
    public TimeSpan ConfirmationLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Subscribing again while pending re-sends the confirmation at most this often.</summary>
    public TimeSpan ConfirmationResendInterval { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Subscribe requests allowed per client network (an IPv4 address, an IPv6 /64) per <see cref="RateLimitWindow"/>.</summary>
    public int RateLimitPermits { get; set; } = 10;

    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Confirm, unsubscribe and preferences posts per client network per <see cref="RateLimitWindow"/>:
    /// generous, since a mail provider's one-click unsubscribes arrive from few addresses.
    /// </summary>
    public int LinkRateLimitPermits { get; set; } = 60;

    /// <summary>Subscribe requests for one mailbox (case-folded) per <see cref="AddressRateLimitWindow"/>, from anywhere.</summary>
    public int AddressRateLimitPermits { get; set; } = 3;

    public TimeSpan AddressRateLimitWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A subscribe request is answered no sooner than this, so its timing does not tell a new address from a known one.</summary>
    public TimeSpan MinimumSubscribeTime { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// How far back a new reader's first digest reaches: the papers first collected within this
    /// before they joined, and everything after. Zero: only papers collected after joining.
    /// A reader who subscribes again never reaches back past what they were already served.
    /// </summary>
    public TimeSpan NewReaderLookback { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Accept addresses with non-ASCII characters before '@' (needs an SMTPUTF8 relay).</summary>
    public bool AllowUnicodeLocalPart { get; set; }
}

internal sealed class SubscriptionOptionsValidator : IValidateOptions<SubscriptionOptions>
{
    public ValidateOptionsResult Validate(string? name, SubscriptionOptions options)
    {
        var check = new ValidationFailures(SubscriptionOptions.Section);
        check.Require(options.ConfirmationLifetime >= TimeSpan.FromMinutes(5), "ConfirmationLifetime", "must be at least 5 minutes.");
        check.Require(options.ConfirmationResendInterval >= TimeSpan.Zero, "ConfirmationResendInterval", "must not be negative.");
        check.Require(options.RateLimitPermits >= 1, "RateLimitPermits", "must be at least 1.");
        check.Require(options.RateLimitWindow >= TimeSpan.FromSeconds(1), "RateLimitWindow", "must be at least one second.");
        check.Require(options.MinimumSubscribeTime >= TimeSpan.Zero && options.MinimumSubscribeTime <= TimeSpan.FromSeconds(2), "MinimumSubscribeTime", "must be between 0 and 2 seconds.");
        check.Require(options.LinkRateLimitPermits >= 1, "LinkRateLimitPermits", "must be at least 1.");
        check.Require(options.AddressRateLimitPermits >= 1, "AddressRateLimitPermits", "must be at least 1.");
        check.Require(options.AddressRateLimitWindow >= TimeSpan.FromSeconds(1), "AddressRateLimitWindow", "must be at least one second.");
        // Past eight days the composer takes a reader's best of the last eight days anyway (DigestComposer.LongestWindow).
        check.Require(options.NewReaderLookback >= TimeSpan.Zero && options.NewReaderLookback <= TimeSpan.FromDays(8), "NewReaderLookback", "must be between 00:00:00 and 8.00:00:00.");
        return check.Result();
    }
}
