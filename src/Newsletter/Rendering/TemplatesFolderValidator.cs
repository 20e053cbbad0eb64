using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Rendering;

/// <summary>
/// <c>TemplatesPath</c> must be a folder holding every template the service renders: a missing
/// folder used to start the service and then answer 500 on every page.
/// </summary>
internal sealed class TemplatesFolderValidator : IValidateOptions<NewsletterOptions>
{
    public static IEnumerable<string> Required =>
        DigestRenderer.Required.Concat(Subscriptions.ConfirmationMailer.Required).Concat(Subscriptions.PageRenderer.Required);

    public ValidateOptionsResult Validate(string? name, NewsletterOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.TemplatesPath))
            return ValidateOptionsResult.Success; // NewsletterOptionsValidator names the empty value
        var check = new ValidationFailures(NewsletterOptions.Section);
        var root = PathResolver.Templates(options.TemplatesPath);
        if (!Directory.Exists(root))
        {
            check.Require(false, "TemplatesPath", $"must be a folder of templates; '{root}' does not exist (the shipped ones are in the repository's templates/).");
            return check.Result();
        }
        var missing = Required.Where(template => !File.Exists(Path.Combine(root, template))).ToArray();
        check.Require(missing.Length == 0, "TemplatesPath",
            $"must hold every required template; '{root}' lacks {string.Join(", ", missing)} (copy them from the repository's templates/).");
        return check.Result();
    }
}
