namespace Newsletter.Model;

/// <summary>
/// Who a digest is rendered for, with their personal signed links; <see cref="Feedback"/> gives each paper's
/// "more like this" / "less like this" links by entry id (null: no feedback links, e.g. a test send to a stranger).
/// </summary>
public sealed record DigestRecipient(string Email, string UnsubscribeUrl, string PreferencesUrl, Func<long, bool, string>? Feedback = null);

public sealed record RenderedDigest(string Subject, string Html, string Text);

/// <summary>A rendered digest with its bodies already UTF-8 encoded (the delivery path).</summary>
public sealed record EncodedDigest(string Subject, byte[] Html, byte[] Text);
