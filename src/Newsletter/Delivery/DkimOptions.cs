using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Delivery;

/// <summary>
/// Signing every mail in process with DKIM (RFC 6376), aligned with <c>From:Address</c> as Gmail
/// and Yahoo require of bulk senders. Empty <see cref="Domain"/> = off (the relay may sign).
/// </summary>
public sealed class DkimOptions
{
    public const string Section = "Newsletter:Dkim";

    /// <summary>The signing domain (<c>d=</c>): the From address's domain or a parent of it.</summary>
    public string? Domain { get; set; }

    /// <summary>The selector (<c>s=</c>): the public key is published at <c>{Selector}._domainkey.{Domain}</c>.</summary>
    public string? Selector { get; set; }

    /// <summary>A PEM private key (RSA, 1024 bits or more, or Ed25519); relative to the current directory.</summary>
    public string? PrivateKeyPath { get; set; }

    /// <summary>
    /// The PEM text itself, instead of <see cref="PrivateKeyPath"/>: meant for the secrets folder (a file
    /// <c>Newsletter__Dkim__PrivateKey</c> in <c>Newsletter:SecretsPath</c> or systemd's credentials), so the
    /// key needs no path of its own that the service's user must be able to read.
    /// </summary>
    public string? PrivateKey { get; set; }

    /// <summary>Where the key comes from, as error sentences name it.</summary>
    public string KeyName => string.IsNullOrWhiteSpace(PrivateKey) ? "PrivateKeyPath" : "PrivateKey";

    public bool Enabled => !string.IsNullOrWhiteSpace(Domain);
}

internal sealed class DkimOptionsValidator(IConfiguration configuration) : IValidateOptions<DkimOptions>
{
    public ValidateOptionsResult Validate(string? name, DkimOptions options)
    {
        var check = new ValidationFailures(DkimOptions.Section);
        var (hasPath, hasKey) = (!string.IsNullOrWhiteSpace(options.PrivateKeyPath), !string.IsNullOrWhiteSpace(options.PrivateKey));
        var any = !string.IsNullOrWhiteSpace(options.Domain) || !string.IsNullOrWhiteSpace(options.Selector) || hasPath || hasKey;
        if (!any)
            return check.Result();
        check.Require(!string.IsNullOrWhiteSpace(options.Domain), "Domain", "must be set when Selector, PrivateKeyPath or PrivateKey is (or leave them all empty to not sign).");
        check.Require(!string.IsNullOrWhiteSpace(options.Selector) && DkimAlignment.IsDnsName(options.Selector!),
            "Selector", $"must be a DNS label such as 'news2026' (letters, digits, '-', '.'); got '{options.Selector}'.");
        check.Require(hasPath || hasKey, "PrivateKeyPath",
            $"must name the PEM file of the DKIM private key (or give the PEM text as {DkimOptions.Section}:PrivateKey, e.g. a file Newsletter__Dkim__PrivateKey in the secrets folder).");
        check.Require(!(hasPath && hasKey), "PrivateKeyPath",
            $"and {DkimOptions.Section}:PrivateKey are both set; give the DKIM key one way only (a file path, or the PEM text from the secrets folder).");
        if (!string.IsNullOrWhiteSpace(options.Domain))
        {
            var from = configuration[$"{NewsletterOptions.Section}:From:Address"] ?? new SenderOptions().Address;
            var fromDomain = from[(from.LastIndexOf('@') + 1)..].Trim();
            check.Require(DkimAlignment.IsDnsName(options.Domain!), "Domain", $"must be a domain name; got '{options.Domain}'.");
            check.Require(DkimAlignment.Aligned(options.Domain!, fromDomain), "Domain",
                $"'{options.Domain}' does not align with Newsletter:From:Address '{from}': receivers (DMARC) accept a DKIM signature only for the From address's domain or a parent of it.");
        }
        return check.Result();
    }
}

/// <summary>DMARC's relaxed alignment, without the public-suffix list: the same domain, or one is a subdomain of the other (never a bare suffix such as "org").</summary>
internal static class DkimAlignment
{
    public static bool Aligned(string signing, string from)
    {
        signing = signing.Trim().TrimEnd('.').ToLowerInvariant();
        from = from.Trim().TrimEnd('.').ToLowerInvariant();
        if (signing == from)
            return true;
        var (parent, child) = signing.Length < from.Length ? (signing, from) : (from, signing);
        return parent.Contains('.') && child.EndsWith("." + parent, StringComparison.Ordinal);
    }

    public static bool IsDnsName(string name) =>
        name.Length is > 0 and <= 253 && name.Split('.').All(label => label.Length is > 0 and <= 63
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_') && label[0] != '-' && label[^1] != '-');
}
