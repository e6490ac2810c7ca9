using Avatar.Chat;
using Avatar.Chat.Client;
using Avatar.Chat.Conversations;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddChatServices();

var app = builder.Build();
app.UseContentSecurityPolicy();
app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
app.UseDefaultFiles();
app.UseStaticFiles();

app.MapDefaultEndpoints();
app.MapConversationsApi();
app.MapClientConfig();

app.Run();
