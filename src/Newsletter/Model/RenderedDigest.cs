namespace Newsletter.Model;

/// <summary>Who a digest is rendered for, with their personal signed links.</summary>
public sealed record DigestRecipient(string Email, string UnsubscribeUrl, string PreferencesUrl);

public sealed record RenderedDigest(string Subject, string Html, string Text);

/// <summary>A rendered digest with its bodies already UTF-8 encoded (the delivery path).</summary>
public sealed record EncodedDigest(string Subject, byte[] Html, byte[] Text);
