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

    /// <summary>Subscribe requests allowed per client IP per <see cref="RateLimitWindow"/>.</summary>
    public int RateLimitPermits { get; set; } = 10;

    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromMinutes(1);

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
        return check.Result();
    }
}
