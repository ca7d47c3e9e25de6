/* The Studio editor of the CaseLab blocks: scenario, version, weight, teamset, deadline. */
function CaseLabStudio(runtime, element) {
    var $root = $(element), $form = $root.find('.caselab-studio-form');

    function notify(name, data) {
        if (runtime.notify) { runtime.notify(name, data); }
    }

    $form.on('submit', function (event) {
        event.preventDefault();
        var data = {};
        $.each($form.serializeArray(), function (_, field) { data[field.name] = field.value; });
        notify('save', {state: 'start'});
        $.ajax({type: 'POST', url: runtime.handlerUrl(element, 'submit_studio'), data: JSON.stringify(data),
                contentType: 'application/json; charset=utf-8', dataType: 'json'})
            .done(function () { $form.find('.caselab-message').text(''); notify('save', {state: 'end'}); })
            .fail(function (xhr) {
                var answer = xhr.responseJSON || {};
                $form.find('.caselab-message').text(answer.error || xhr.statusText);
                notify('error', {title: 'CaseLab', message: answer.error || xhr.statusText});
            });
    });
    $root.on('click', '.cancel-button', function () { notify('cancel', {}); });
}
