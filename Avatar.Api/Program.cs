using Avatar.Api;
using Avatar.Api.Characters;
using Avatar.Api.Data;
using Avatar.Api.Facts;
using Avatar.Api.Infrastructure;
using Avatar.Api.Sessions;
using Avatar.Api.Users;

if (args is ["migrate", ..])
{
    return await Migrator.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApiServices();

var app = builder.Build();
app.UseDeclaredBodyLimit();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseCors();
// Before authentication, so a request over its limit costs no database query.
app.UseRateLimiter();
app.UseAuthentication();
app.UseAuthorization();

app.MapDefaultEndpoints();
app.MapOpenApi();
app.MapUsersApi();
app.MapCharactersApi();
app.MapSessionsApi();
app.MapFactsApi();

app.Run();
return 0;
