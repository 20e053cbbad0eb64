using Newsletter.Configuration;

namespace Newsletter.Rendering;

public static class RenderingRegistration
{
    /// <summary>Templates (loaded, watched, checked) and the renderers of digests, mails and pages.</summary>
    public static WebApplicationBuilder AddRendering(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TemplateStore>();
        builder.Services.AddSingleton<TemplateRenderer>();
        builder.Services.AddSingleton<DigestRenderer>();
        builder.Services.AddSingleton<TemplateChecker>();
        builder.Services.AddSingleton<IStartupRequirement, TemplatesFolderValidator>();
        return builder;
    }
}
