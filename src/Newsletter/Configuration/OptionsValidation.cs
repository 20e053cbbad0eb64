using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Newsletter.Configuration;

/// <summary>
/// Collects every failure of one options object, each naming its configuration key, so a bad
/// appsettings.json is fixed in one go rather than one restart per mistake.
/// </summary>
public sealed class ValidationFailures(string section)
{
    private readonly List<string> _failures = [];

    public void Require(bool condition, string key, string problem)
    {
        if (!condition)
            _failures.Add($"{section}:{key} {problem}");
    }

    public ValidateOptionsResult Result() =>
        _failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_failures);
}

public static class OptionsRegistration
{
    /// <summary>Binds <typeparamref name="TOptions"/> to its section and validates it when the host starts.</summary>
    public static IServiceCollection AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddValidatedOptions<TOptions>(section);
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        return services;
    }

    /// <summary>
    /// Binds <typeparamref name="TOptions"/> to its section, validates it when the host starts and
    /// enters it in <see cref="ConfigurationCheck"/>, which checks every section before anything runs.
    /// </summary>
    public static IServiceCollection AddValidatedOptions<TOptions>(this IServiceCollection services, string section)
        where TOptions : class
    {
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateOnStart();
        services.AddSingleton(new CheckedSection(typeof(TOptions), section));
        services.TryAddSingleton<ConfigurationCheck>();
        return services;
    }
}

internal sealed class NewsletterOptionsValidator : IValidateOptions<NewsletterOptions>
{
    public ValidateOptionsResult Validate(string? name, NewsletterOptions options)
    {
        var check = new ValidationFailures(NewsletterOptions.Section);
        check.Require(Uri.TryCreate(options.PublicBaseUrl, UriKind.Absolute, out var baseUrl)
                      && (baseUrl.Scheme == Uri.UriSchemeHttp || baseUrl.Scheme == Uri.UriSchemeHttps),
            "PublicBaseUrl", $"must be an absolute http(s) URL; got '{options.PublicBaseUrl}'.");
        // Every link appends "/confirm?token=...": a query, fragment or credentials in the base would break them all.
        check.Require(!options.PublicBaseUrl.Contains('?') && !options.PublicBaseUrl.Contains('#') && (baseUrl is null || baseUrl.UserInfo.Length == 0),
            "PublicBaseUrl", $"must not contain a query ('?'), a fragment ('#') or credentials; got '{options.PublicBaseUrl}'.");
        check.Require(!string.IsNullOrWhiteSpace(options.TemplatesPath), "TemplatesPath", "must name a folder.");
        check.Require(MimeKit.MailboxAddress.TryParse(options.From.Address, out var from) && from.Address.Contains('@'),
            "From:Address", $"must be an email address; got '{options.From.Address}'.");
        check.Require(options.Secret is null || options.Secret.Length >= 16,
            "Secret", "must be at least 16 characters (or left out to have one generated).");
        check.Require(options.RenderTimeout > TimeSpan.Zero, "RenderTimeout", "must be positive.");
        // Bounded so that an issue of real papers (fields capped at parse time, see Entry) stays well
        // inside the template output limit: 100 in full (~2.5k characters each) and 1,000 listed (~0.5k).
        check.Require(options.MaxEntriesPerIssue is > 0 and <= NewsletterOptions.MaxEntriesPerIssueLimit,
            "MaxEntriesPerIssue", $"must be between 1 and {NewsletterOptions.MaxEntriesPerIssueLimit}; got {options.MaxEntriesPerIssue}.");
        check.Require(options.MaxMoreEntriesPerIssue is >= 0 and <= NewsletterOptions.MaxMoreEntriesPerIssueLimit,
            "MaxMoreEntriesPerIssue", $"must be between 0 and {NewsletterOptions.MaxMoreEntriesPerIssueLimit}; got {options.MaxMoreEntriesPerIssue}.");
        check.Require(options.CarryOverMaxAge >= TimeSpan.FromHours(1),
            "CarryOverMaxAge", $"must be at least one hour (papers wait this long for room in an issue); got {options.CarryOverMaxAge}.");
        check.Require(options.Archive.PageSize is >= 1 and <= 500, "Archive:PageSize", $"must be between 1 and 500; got {options.Archive.PageSize}.");
        check.Require(options.Archive.FeedIssues is >= 1 and <= 100, "Archive:FeedIssues", $"must be between 1 and 100; got {options.Archive.FeedIssues}.");
        check.Require(options.Archive.CacheFor >= TimeSpan.Zero, "Archive:CacheFor", $"must not be negative; got {options.Archive.CacheFor}.");
        return check.Result();
    }
}
