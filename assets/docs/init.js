// Starts Swagger UI on the server's own description. Kept in a file (not inline) so the
// strict Content-Security-Policy (script-src 'self') holds. Authorization entered in the page
// stays in page memory (persistAuthorization is off), never in localStorage.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    persistAuthorization: false,
    displayRequestDuration: true,
    validatorUrl: null
  });
});
