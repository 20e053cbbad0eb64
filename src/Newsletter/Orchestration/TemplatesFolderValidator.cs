using Newsletter.Configuration;
using Newsletter.Rendering;
using Newsletter.Subscriptions;

namespace Newsletter.Orchestration;

/// <summary>
/// <c>TemplatesPath</c> must be a folder holding every template the service renders: a missing
/// folder used to start the service and then answer 500 on every page. A start-up requirement
/// rather than an options validator, so <c>templates check</c> still runs to list what is missing.
/// </summary>
internal sealed class TemplatesFolderValidator : IStartupRequirement
{
    public static IEnumerable<string> Required =>
        DigestRenderer.Required.Concat(ConfirmationMailer.Required).Concat(PageRenderer.Required).Concat(OperatorConsole.Required).Concat(ArchivePages.Required);

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
        // At start-up there is no earlier good version to fall back to: a required template that
        // does not parse would fail every mail or page it serves. One sentence per file.
        foreach (var template in Required.Except(missing))
        {
            var path = Path.Combine(root, template);
            string? text = null, unreadable = null;
            try { text = File.ReadAllText(path); }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException) { unreadable = exception.Message; }
            if (text is null)
            {
                yield return $"{key}: required template {Display(path)} cannot be read: {unreadable}";
                continue;
            }
            var parsed = Scriban.Template.Parse(text, path);
            if (parsed.HasErrors && parsed.Messages.FirstOrDefault(m => m.Type == Scriban.Parsing.ParserMessageType.Error) is { } first)
                yield return $"required template {Display(path)}:{first.Span.Start.Line + 1}:{first.Span.Start.Column + 1}: {first.Message} (it must parse for the service to start; 'templates check' lists every error)";
        }
    }

    private static string Display(string path)
    {
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        return (relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative).Replace('\\', '/');
    }
}
