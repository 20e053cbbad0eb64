using System.Text;
using Newsletter.Model;

namespace Newsletter.Rendering;

/// <summary>
/// Keeps each part of a digest (HTML and plain text) under <see cref="PartLimit"/> bytes, below
/// Gmail's clip (~102 KB of HTML: "[Message clipped]" hides what follows, which is the footer with
/// the unsubscribe and preferences links). Papers are never dropped here: what the list holds was
/// decided at compose time (the compact list is capped by bytes there); only how much of each paper
/// shown in full is printed gives way, from the bottom of the ranking up.
/// </summary>
/// <remarks>
/// Each entry shown in full has a level: 0 everything; 1 the abstract shortened to about
/// <see cref="BriefSummary"/> characters ("read more" follows, <c>entry.summary_cut</c>); 2 also the
/// authors cut to three and the title to 160 characters; 3 no abstract, one author, a 100-character
/// title. A paper's card (<see cref="PaperCard"/>) gives way with it: level 1 keeps five keywords; at 2 a paper with an AI
/// summary shows that one sentence instead of the shortened abstract (it says more in fewer bytes), without keywords;
/// 3 keeps only the code link (with its stars) and the discussion link, and 4 (otherwise as 3) drops the card: only a day
/// of papers whose links are all near their cap gets there. The digest is rendered, measured, and entries are lowered (all to level 1 from the bottom
/// first, then to 2, then 3, then 4) by as much as the estimate says the excess needs, until it fits. A
/// digest that fits (most days) is rendered once; a 150-paper day twice. The levels are chosen once
/// per digest (with the splice markers as personal values) and used for every reader's copy, with
/// <see cref="PersonalMargin"/> kept for the real addresses and links and the wire's CRLFs.
/// </remarks>
public static class DigestSizeBudget
{
    /// <summary>The most bytes an HTML or text part of a digest is meant to have.</summary>
    public const int PartLimit = 100_000;

    /// <summary>Room for the personal values (an address of up to 254 characters, two links, in each part) and the CR of every CRLF.</summary>
    public const int PersonalMargin = 4_000;

    /// <summary>Characters an abstract is shortened to (at a word).</summary>
    public const int BriefSummary = 280;

    public const int TopLevel = 4;

    private const int MaxRenders = 12;

    /// <summary>
    /// The levels of <paramref name="issue"/>'s full entries that keep both parts of
    /// <paramref name="render"/>'s result under the budget, and that result; all 0 when it fits as it is.
    /// </summary>
    public static (int[] Levels, RenderedDigest Rendered, bool Fits) Fit(Issue issue, Func<int[], RenderedDigest> render)
    {
        RenderedDigest? rendered = null;
        var (levels, _, fits) = Fit(issue, levels =>
        {
            rendered = render(levels);
            return (Encoding.UTF8.GetByteCount(rendered.Html), Encoding.UTF8.GetByteCount(rendered.Text));
        });
        return (levels, rendered!, fits);
    }

    /// <summary>The same with the parts' sizes measured by <paramref name="measure"/> (an assembled digest is measured from its pieces' sizes).</summary>
    public static (int[] Levels, (int Html, int Text) Bytes, bool Fits) Fit(Issue issue, Func<int[], (int Html, int Text)> measure)
    {
        var levels = new int[issue.Entries.Count];
        var bytes = measure(levels);
        for (var attempt = 1; ; attempt++)
        {
            var excess = Math.Max(bytes.Html, bytes.Text) - (PartLimit - PersonalMargin);
            if (excess <= 0)
                return (levels, bytes, true);
            if (attempt == MaxRenders || !Lower(issue, levels, excess + excess / 20 + 256))
                return (levels, bytes, false);
            bytes = measure(levels);
        }
    }

    /// <summary>Lowers entries from the bottom up until the estimated saving reaches <paramref name="needed"/>; false when nothing is left to lower.</summary>
    private static bool Lower(Issue issue, int[] levels, int needed)
    {
        var saved = 0;
        var lowered = false;
        for (var level = 1; level <= TopLevel; level++)
        {
            for (var i = levels.Length - 1; i >= 0; i--)
            {
                if (levels[i] >= level)
                    continue;
                saved += ShownBytes(issue.Entries[i], levels[i]) - ShownBytes(issue.Entries[i], level);
                levels[i] = level;
                lowered = true;
                if (saved >= needed)
                    return true;
            }
        }
        return lowered;
    }

    /// <summary>About what an entry's text takes in one part at a level (title, authors, abstract, card).</summary>
    private static int ShownBytes(IssueEntry entry, int level) =>
        Encoding.UTF8.GetByteCount(Title(entry.Title, level)) + Encoding.UTF8.GetByteCount(Summary(entry, level))
        + Authors(entry.Authors, level).Sum(a => Encoding.UTF8.GetByteCount(a) + 2)
        + CardBytes(Card(entry.Card, level));

    private static int CardBytes(PaperCard card) =>
        Length(card.CodeUrl) + Length(card.ProjectUrl) + Length(card.DiscussionUrl) + Length(card.Organization) + Length(card.AiSummary)
        + (card.AiKeywords?.Sum(k => Encoding.UTF8.GetByteCount(k) + 2) ?? 0);

    private static int Length(string? text) => text is null ? 0 : Encoding.UTF8.GetByteCount(text);

    /// <summary>What of a paper's card is shown at a level (an empty card for none).</summary>
    public static PaperCard Card(PaperCard? card, int level) => card switch
    {
        null => PaperCard.Empty,
        _ when level <= 0 => card,
        _ when level == 1 => card.AiKeywords is { Count: > 5 } keywords ? card with { AiKeywords = keywords.Take(5).ToArray() } : card,
        _ when level == 2 => card with { AiKeywords = null },
        _ when level == 3 => new PaperCard(CodeUrl: card.CodeUrl, CodeStars: card.CodeStars, DiscussionUrl: card.DiscussionUrl, Comments: card.Comments),
        _ => PaperCard.Empty,
    };

    public static string Title(string title, int level) => level switch
    {
        <= 1 => title,
        2 => Brief(title, 160),
        _ => Brief(title, 100),
    };

    /// <summary>The abstract shown for an entry at a level: at 2 none when its card's AI summary stands in for it.</summary>
    public static string Summary(IssueEntry entry, int level) =>
        level == 2 && entry.Card?.AiSummary is { Length: > 0 } ? "" : Summary(entry.Summary, level);

    public static string Summary(string summary, int level) => level switch
    {
        0 => summary,
        1 or 2 => Brief(summary, BriefSummary),
        _ => "",
    };

    /// <summary>The names shown: up to <paramref name="all"/> at level 0-1, three at 2, one at 3, then "et al.".</summary>
    public static IEnumerable<string> Authors(IReadOnlyList<string> authors, int level, int all = DigestRenderer.MaxAuthorsShown)
    {
        var shown = level switch { <= 1 => all, 2 => 3, _ => 1 };
        return authors.Count <= shown ? authors : authors.Take(shown).Append("et al.");
    }

    /// <summary>At most about <paramref name="length"/> characters, cut at a word and ended with an ellipsis.</summary>
    public static string Brief(string text, int length)
    {
        if (text.Length <= length)
            return text;
        var space = text.LastIndexOf(' ', length);
        var cut = text[..(space > length / 2 ? space : length)].TrimEnd(' ', ',', ';', ':', '.', '-');
        // Never split a surrogate pair.
        if (cut.Length > 0 && char.IsHighSurrogate(cut[^1]))
            cut = cut[..^1];
        return cut + "\u2026";
    }
}
