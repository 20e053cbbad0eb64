namespace Newsletter.Model;

/// <summary>A collected paper with what filtering needs: its categories and every source that listed it.</summary>
public sealed record CandidatePaper(
    long Id,
    string Title,
    string Summary,
    IReadOnlyList<string> Authors,
    string Url,
    int Score,
    DateTimeOffset? PublishedAt,
    string Source,
    IReadOnlyList<string> Categories,
    IReadOnlyList<string> Sources,
    long FirstSeenAt);
