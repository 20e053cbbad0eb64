using Newsletter.Configuration;

namespace Newsletter.Rendering;

/// <summary>
/// <c>TemplatesPath</c> must be a folder holding every template the service renders: a missing
/// folder used to start the service and then answer 500 on every page. A start-up requirement
/// rather than an options validator, so <c>templates check</c> still runs to list what is missing.
/// </summary>
internal sealed class TemplatesFolderValidator : IStartupRequirement
{
    public static IEnumerable<string> Required =>
        DigestRenderer.Required.Concat(Subscriptions.ConfirmationMailer.Required).Concat(Subscriptions.PageRenderer.Required);

    public IEnumerable<string> Problems(IConfiguration configuration)
    {
        var options = configuration.GetSection(NewsletterOptions.Section).Get<NewsletterOptions>() ?? new NewsletterOptions();
        if (string.IsNullOrWhiteSpace(options.TemplatesPath))
            yield break; // NewsletterOptionsValidator names the empty value
        var key = $"{NewsletterOptions.Section}:TemplatesPath";
        var root = PathResolver.Templates(options.TemplatesPath);
        if (!Directory.Exists(root))
        {
            yield return $"{key} must be a folder of templates; '{root}' does not exist (the shipped ones are in the repository's templates/).";
            yield break;
        }
        var missing = Required.Where(template => !File.Exists(Path.Combine(root, template))).ToArray();
        if (missing.Length > 0)
            yield return $"{key} must hold every required template; '{root}' lacks {string.Join(", ", missing)} (copy them from the repository's templates/).";
    }
}
