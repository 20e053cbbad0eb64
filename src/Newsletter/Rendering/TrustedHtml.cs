namespace Newsletter.Rendering;

/// <summary>A value an HTML template has explicitly marked as markup; the only thing written unescaped.</summary>
public sealed record TrustedHtml(string Value)
{
    public override string ToString() => Value;
}
