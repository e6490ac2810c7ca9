using Avatar.Chat.Conversations;
using Avatar.Chat.LipSync;
using Avatar.Chat.Llm;
using Avatar.Chat.Speech;
using Grpc.Net.Client;

namespace Avatar.Chat;

/// <summary>Registration of everything Chat needs.</summary>
public static class ChatServices
{
    /// <summary>The database, the language and speech providers chosen by configuration, the A2F client, the turn pipeline and the limits.</summary>
    public static WebApplicationBuilder AddChatServices(this WebApplicationBuilder builder)
    {
        // A turn whose messages cannot be stored ends with storage_failed at once: the user is waiting for turn.end, and
        // Npgsql alone would wait 15 s to connect and 30 s for a command (2 s to connect, as the Api: a busy node's
        // fork and handshake can pass one).
        builder.AddNpgsqlDataSource("avatardb", configureDataSourceBuilder: db =>
        {
            db.ConnectionStringBuilder.Timeout = 2;
            db.ConnectionStringBuilder.CommandTimeout = 5;
            db.ConnectionStringBuilder.KeepAlive = 1; // as the Api: no pooled connection outlives a database restart
        });
        builder.Services.AddOptions<ChatOptions>().BindConfiguration("Chat").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ChatRateLimits>().BindConfiguration("RateLimits")
            .Validate(l => l.Says.IsValid && l.SocketsPerUser >= 1, "RateLimits:Says needs Permits of at least 1 and a positive Period; RateLimits:SocketsPerUser at least 1.")
            .ValidateOnStart();
        builder.Services.AddSingleton<ChatLimits>();
        // Browsers only GET the client's files here; a slow or large request is never a client of ours.
        builder.AddRequestLimits(maxBodyBytes: 16 * 1024);
        var options = builder.Configuration.GetSection("Chat").Get<ChatOptions>() ?? new ChatOptions();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ConversationStore>();
        builder.Services.AddSingleton<TurnRunner>();
        builder.AddLanguageModel(options.LlmProvider);
        builder.AddSpeech(options.TtsProvider);

        var controller = builder.Configuration["services:a2f-controller:grpc:0"] ?? builder.Configuration["Chat:A2FControllerAddress"]
            ?? throw new InvalidOperationException("Missing the A2F controller's address: services__a2f-controller__grpc__0 or Chat__A2FControllerAddress.");
        // One channel for the life of the service: every turn's call shares its HTTP/2 connections.
        builder.Services.AddSingleton(_ => new LipSyncClient(GrpcChannel.ForAddress(controller, new GrpcChannelOptions
        {
            // A turn cancelled by interrupt ends its face as it ends everything else: OperationCanceledException, not a CANCELLED status.
            ThrowOperationCanceledOnCancellation = true,
        })));
        return builder;
    }

    private static void AddLanguageModel(this WebApplicationBuilder builder, string provider)
    {
        switch (provider)
        {
            case "embedded":
                builder.Services.AddSingleton<ILlmClient, EmbeddedEngine>();
                break;
            case "openai":
                builder.Services.AddSingleton(builder.Options<OpenAiChatOptions>("Chat:OpenAi"));
                builder.Services.AddHttpClient<ILlmClient, OpenAiChatClient>();
                break;
            case "anthropic":
                builder.Services.AddSingleton(builder.Options<AnthropicOptions>("Chat:Anthropic"));
                builder.Services.AddHttpClient<ILlmClient, AnthropicChatClient>();
                break;
            default:
                throw new InvalidOperationException($"Chat:LlmProvider '{provider}' is not one of: embedded, openai, anthropic.");
        }
    }

    private static T Options<T>(this WebApplicationBuilder builder, string section) where T : new()
        => builder.Configuration.GetSection(section).Get<T>() ?? new T();

    private static void AddSpeech(this WebApplicationBuilder builder, string provider)
    {
        switch (provider)
        {
            case "espeak":
                builder.Services.AddSingleton<ITtsClient, EspeakTtsClient>();
                break;
            case "elevenlabs":
                builder.Services.AddSingleton(builder.Options<ElevenLabsOptions>("Chat:ElevenLabs"));
                builder.Services.AddHttpClient<ITtsClient, ElevenLabsTtsClient>();
                break;
            case "openai":
                builder.Services.AddSingleton(builder.Options<OpenAiSpeechOptions>("Chat:OpenAiSpeech"));
                builder.Services.AddHttpClient<ITtsClient, OpenAiSpeechClient>();
                break;
            default:
                throw new InvalidOperationException($"Chat:TtsProvider '{provider}' is not one of: espeak, elevenlabs, openai.");
        }
    }
}
