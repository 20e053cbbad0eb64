namespace Newsletter.Configuration;

/// <summary>Top-level settings under "Newsletter" that several features share.</summary>
public sealed class NewsletterOptions
{
    public const string Section = "Newsletter";

    /// <summary>Base of every link in mail (confirm, unsubscribe, preferences).</summary>
    public string PublicBaseUrl { get; set; } = "http://localhost:5080";

    /// <summary>Key for signed links; generated and stored in the database when absent.</summary>
    public string? Secret { get; set; }

    /// <summary>Earlier secrets whose links still verify during a key rotation.</summary>
    public List<string> PreviousSecrets { get; set; } = [];

    /// <summary>Folder of Scriban templates, relative to the current directory.</summary>
    public string TemplatesPath { get; set; } = "templates";

    public SenderOptions From { get; set; } = new();

    /// <summary>Wall-clock limit of one template render; a render that takes longer fails.</summary>
    public TimeSpan RenderTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many ranked entries one issue carries at most.</summary>
    public int MaxEntriesPerIssue { get; set; } = 50;
}

public sealed class SenderOptions
{
    public string Address { get; set; } = "digest@localhost";
    public string Name { get; set; } = "Daily Papers";
}
