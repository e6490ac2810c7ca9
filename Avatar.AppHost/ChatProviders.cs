/// <summary>
/// Which language model and voice Chat uses, from the AppHost's configuration: <c>Chat:LlmProvider</c> (embedded,
/// openai, anthropic) and <c>Chat:TtsProvider</c> (espeak, elevenlabs, openai), and their keys as secret parameters
/// (<c>Parameters:openai-api-key</c>, <c>anthropic-api-key</c>, <c>elevenlabs-api-key</c>, in user secrets or the
/// environment). Without configuration Chat runs on its embedded, offline providers and needs no key.
/// </summary>
internal static class ChatProviders
{
    private static readonly (string Parameter, string[] Settings)[] s_keys =
    [
        ("openai-api-key", ["Chat__OpenAi__ApiKey", "Chat__OpenAiSpeech__ApiKey"]),
        ("anthropic-api-key", ["Chat__Anthropic__ApiKey"]),
        ("elevenlabs-api-key", ["Chat__ElevenLabs__ApiKey"]),
    ];

    public static IResourceBuilder<ProjectResource> WithChatProviders(this IResourceBuilder<ProjectResource> chat, IDistributedApplicationBuilder builder)
    {
        foreach (var setting in (string[])["LlmProvider", "TtsProvider", "OpenAi:BaseUrl", "OpenAi:Model", "Anthropic:Model", "ElevenLabs:VoiceId"])
        {
            if (builder.Configuration[$"Chat:{setting}"] is { Length: > 0 } value)
            {
                chat.WithEnvironment($"Chat__{setting.Replace(":", "__", StringComparison.Ordinal)}", value);
            }
        }
        foreach (var (parameter, settings) in s_keys)
        {
            // Only keys that are configured become parameters: a missing one must not stop a run that does not use it.
            if (builder.Configuration[$"Parameters:{parameter}"] is { Length: > 0 })
            {
                var key = builder.AddParameter(parameter, secret: true);
                foreach (var setting in settings)
                {
                    chat.WithEnvironment(setting, key);
                }
            }
        }
        return chat;
    }
}
