using Newsletter.Configuration;

namespace Newsletter.Rendering;

public static class RenderingRegistration
{
    /// <summary>Templates (loaded, watched) and the renderers of digests, mails and pages; checking them all is Orchestration's.</summary>
    public static WebApplicationBuilder AddRendering(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TemplateStore>();
        builder.Services.AddSingleton<TemplateRenderer>();
        builder.Services.AddSingleton<DigestRenderer>();
        return builder;
    }
}
