/* Shared by the CaseLab blocks: call a block's JSON handler, and read the message of a refused call. */
function CaseLabHandlers(runtime, element) {
    return {
        post: function (handler, data) {
            return $.ajax({type: 'POST', url: runtime.handlerUrl(element, handler), data: JSON.stringify(data || {}),
                           contentType: 'application/json; charset=utf-8', dataType: 'json'});
        },
        errorOf: function (xhr) {
            return (xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText || '…';
        }
    };
}
