namespace Newsletter.Tests.Support;

/// <summary>
/// The set-up the templates tests share: a template rewritten in the host's own copy of the
/// shipped ones, so that a test shows only which file it breaks and how.
/// </summary>
internal static class TemplateEdits
{
    /// <summary>
    /// Writes <paramref name="content"/> as <paramref name="file"/> (relative to the templates folder)
    /// in the host's copy of the shipped templates, made on first use; returns the copy's folder.
    /// </summary>
    public static async Task<string> WriteTemplateAsync(this TestHost host, string file, string content)
    {
        var templates = host.CopyTemplates();
        await File.WriteAllTextAsync(Path.Combine(templates, file), content);
        return templates;
    }
}
