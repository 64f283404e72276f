using Platform.ChatApi;
using Platform.ChatApi.Grpc;
using Platform.ChatApi.Http;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.UseStatusCodePages(OpenAiProblem.WriteBareStatusAsync);
app.UseCors();
app.UseRequestTimeouts();
app.UseDefaultFiles();
app.UseStaticFiles();
app.MapDefaultEndpoints();
app.MapChatCompletions();
app.MapModels();
app.MapVoiceMessages();
app.MapDebugScaling();
app.MapApiReference();
app.MapGrpcService<ChatService>();
app.Run();

public partial class Program;
